//! `auditlog show ID`: one event.

use auditlog_core::Identity;
use auditlog_store::AuditLogService;

use crate::config::Loaded;
use crate::{Format, UsageError, output};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event id (a UUID).
    id: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let id: uuid::Uuid =
        args.id.parse().map_err(|_| UsageError(format!("{:?} is not an event id (a UUID)", args.id)))?;
    let service = AuditLogService::new(loaded.audit_log()?, loaded.open_store().await?);
    let event = service.read(&Identity::system(), id).await?;
    match args.format {
        Format::Table => print!("{}", output::event_details(&event)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&event.to_api_json(&loaded.config.base_url))?),
        Format::Ndjson => println!("{}", serde_json::to_string(&event.to_api_json(&loaded.config.base_url))?),
    }
    Ok(())
}
