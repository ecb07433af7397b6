//! `auditlog key show`: the public verifier key of the log's checkpoints.

use crate::config::Loaded;
use crate::keys;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the verifier key (`<origin>+<key id>+<public key>`) monitors use.
    Show,
}

pub fn run(loaded: &Loaded, command: Command) -> anyhow::Result<()> {
    let Command::Show = command;
    let signer = keys::load(loaded)?;
    eprintln!("origin {} (signing key {})", signer.name(), keys::path(loaded).display());
    println!("{}", signer.verifier_key_string());
    Ok(())
}
