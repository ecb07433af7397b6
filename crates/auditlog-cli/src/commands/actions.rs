//! `auditlog actions list`: the registered actions.

use serde_json::json;

use crate::config::Loaded;
use crate::{Format, output};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every action: built-in, from code and from the configuration.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub fn run(loaded: &Loaded, command: Command) -> anyhow::Result<()> {
    let Command::List { format } = command;
    let audit = loaded.audit_log()?;
    let disabled = &loaded.config.disabled_actions;
    let actions = audit.registry().iter();
    match format {
        Format::Table => {
            let rows: Vec<Vec<String>> = actions
                .map(|a| {
                    vec![
                        a.id().to_owned(),
                        a.resource_type().to_owned(),
                        if disabled.iter().any(|d| d == a.id()) {
                            format!("{} (disabled)", a.source())
                        } else {
                            a.source().to_string()
                        },
                        a.message_template().to_owned(),
                    ]
                })
                .collect();
            print!("{}", output::table(&["ID", "RESOURCE TYPE", "SOURCE", "MESSAGE TEMPLATE"], &rows));
        }
        Format::Json | Format::Ndjson => {
            let items: Vec<serde_json::Value> = actions
                .map(|a| {
                    json!({
                        "id": a.id(),
                        "resource_type": a.resource_type(),
                        "source": a.source().to_string(),
                        "message_template": a.message_template(),
                        "context": a.resolvers().iter().map(|r| r.name().to_owned()).collect::<Vec<_>>(),
                        "metadata_schema": a.metadata_schema(),
                        "disabled": disabled.iter().any(|d| d == a.id()),
                    })
                })
                .collect();
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for i in items {
                    println!("{}", serde_json::to_string(&i)?);
                }
            }
        }
    }
    Ok(())
}
