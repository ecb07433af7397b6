//! `auditlog search Q`: the query language from the command line.

use auditlog_core::Identity;
use auditlog_store::AuditLogService;
use auditlog_store::SearchParams;
use auditlog_store::search::Sort;
use serde_json::json;

use crate::config::Loaded;
use crate::{Format, UsageError, output};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Query (e.g. `resource.id:abcd-1234 AND action:draft.*`); empty for all.
    #[arg(default_value = "")]
    query: String,
    #[arg(long, default_value = "newest", value_parser = ["newest", "oldest", "bestmatch"])]
    sort: String,
    #[arg(long, default_value_t = 20)]
    size: u64,
    #[arg(long, default_value_t = 1)]
    page: u64,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn run(loaded: &Loaded, args: Args) -> anyhow::Result<()> {
    let service = AuditLogService::new(loaded.audit_log()?, loaded.open_store().await?);
    let sort: Sort = args.sort.parse().map_err(UsageError)?;
    let params = SearchParams {
        q: Some(args.query.clone()).filter(|q| !q.trim().is_empty()),
        sort,
        size: args.size,
        page: args.page,
        ..Default::default()
    };
    let result = service.search(&Identity::system(), &params).await.map_err(|e| super::search_error(&args.query, e))?;
    let base = &loaded.config.base_url;
    match args.format {
        Format::Table => {
            let rows: Vec<Vec<String>> = result.hits.iter().map(output::event_row).collect();
            print!("{}", output::table(&output::EVENT_HEADER, &rows));
            let first = (args.page - 1) * args.size;
            if result.hits.is_empty() {
                eprintln!("no hits of {} events matching", result.total);
            } else {
                eprintln!("{}-{} of {} hits", first + 1, first + result.hits.len() as u64, result.total);
            }
        }
        Format::Json => {
            let hits: Vec<_> = result.hits.iter().map(|e| e.to_api_json(base)).collect();
            let body = json!({
                "hits": {"hits": hits, "total": result.total},
                "aggregations": result.aggregations,
                "sortBy": result.sort,
            });
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
        Format::Ndjson => {
            for e in &result.hits {
                println!("{}", serde_json::to_string(&e.to_api_json(base))?);
            }
        }
    }
    Ok(())
}
