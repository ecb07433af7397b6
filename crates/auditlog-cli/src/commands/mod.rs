//! One module per subcommand.

pub mod actions;
pub mod demo;
pub mod export;
pub mod import;
pub mod ingest;
pub mod key;
pub mod migrate;
pub mod retention;
pub mod search;
pub mod serve;
pub mod show;
pub mod token;
pub mod verify;
