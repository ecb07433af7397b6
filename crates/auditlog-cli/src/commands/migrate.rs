//! `auditlog migrate`: create or upgrade the schema.

use crate::config::Loaded;

pub async fn run(loaded: &Loaded) -> anyhow::Result<()> {
    let store = loaded.open_store()?;
    store.health().await?;
    println!("{} database is up to date: {}", store.backend(), loaded.config.database_url);
    Ok(())
}
