//! Vestnik polls regional news sources, normalizes and deduplicates their items, groups copies of
//! one story from many outlets and publishes merged RSS, Atom and JSON feeds per topic.
//!
//! The modules are the pipeline stages in the order data flows through them; each knows only the
//! stages before it. [`ingest`] and [`daemon`] compose them; `main.rs` is only the command line.

pub mod cluster;
pub mod config;
pub mod fetch;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod publish;
pub mod running;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod topics;

pub mod allocator;
pub mod daemon;
pub mod export;
pub mod full_text;
pub mod ingest;
pub mod parallel;
pub mod reload;
pub mod telemetry;
