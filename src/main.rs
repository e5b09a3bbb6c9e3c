//! The `vestnik` command line. Everything it runs lives in the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use url::Url;

use vestnik::config::{Config, LoadError, SourceKind};
use vestnik::daemon;
use vestnik::ingest::{self, PollReport, PollStatus, Target};

#[derive(Parser)]
#[command(
    name = "vestnik",
    version,
    about = "Polls regional news sources and publishes merged, deduplicated topic feeds"
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "feeds.toml")]
    config: PathBuf,
    /// Log lines as text or as JSON objects.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll, ingest, publish and serve until SIGINT or SIGTERM.
    Run,
    /// Poll every source (or one) once now, ingest, print a summary per source and exit.
    Poll {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Print one JSON document with each source's report and saved state instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate the configuration: exit 0, or print each error as FILE:LINE:COL: message and exit 1.
    Check,
    /// Show a source as Vestnik sees it after fetch, decode, parse and normalize; stores nothing.
    Inspect {
        /// A URL or a local file.
        target: String,
        /// Read the target as an HTML page instead of a feed: a news list with a kind = "html"
        /// source's selectors (--source), else one article page by main-content extraction.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Use this configured source's time zone and HTML selectors.
        #[arg(long)]
        source: Option<String>,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write every output feed as static files: DIR/TOPIC.rss, .atom and .json.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Topic tools.
    Topic {
        #[command(subcommand)]
        command: TopicCommand,
    },
    /// OPML: a reader's export to [[source]] blocks, or the sources as OPML.
    Opml {
        #[command(subcommand)]
        command: OpmlCommand,
    },
}

#[derive(Subcommand)]
enum OpmlCommand {
    /// Print a [[source]] block for every feed in an OPML file (nested folders included), with
    /// ids that do not clash with the configured sources when a configuration is readable.
    Import {
        /// The OPML file a feed reader exported.
        file: PathBuf,
    },
    /// Print the configured sources as OPML 2.0.
    Export,
}

#[derive(Subcommand)]
enum TopicCommand {
    /// Show whether a topic matches a text or a stored entry, and which terms matched where.
    Explain {
        /// The topic id.
        id: String,
        /// A text to test (read as an entry's text).
        #[arg(long, conflicts_with = "entry", required_unless_present = "entry")]
        text: Option<String>,
        /// The id of a stored entry (as in a JSON feed's `id`, with or without `urn:vestnik:story:`).
        #[arg(long)]
        entry: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Feed,
    Html,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_format, default_level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("vestnik: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vestnik: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check => Ok(check(&cli.config)),
        Command::Run => {
            let config = load(&cli.config)?;
            daemon::run(config, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Poll { source, json } => poll(&load(&cli.config)?, source.as_deref(), json).await,
        Command::Topic {
            command: TopicCommand::Explain { id, text, entry },
        } => explain(&load(&cli.config)?, &id, text.as_deref(), entry.as_deref()),
        Command::Inspect {
            target,
            kind,
            source,
            json,
        } => inspect(&cli.config, &target, kind, source.as_deref(), json).await,
        Command::Export { out } => {
            let config = load(&cli.config)?;
            let topics = daemon::compile_topics(&config)?;
            let store = daemon::open_store(&config)?;
            daemon::index_topics(&topics, &store).await?;
            for path in vestnik::export::export(&config, &topics, &store, &out)? {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Opml {
            command: OpmlCommand::Import { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let feeds = vestnik::opml::read(&text)
                .with_context(|| format!("cannot import {}", file.display()))?;
            let taken = Config::load(&cli.config)
                .map(|c| c.sources.into_iter().map(|s| s.id).collect())
                .unwrap_or_default();
            print!("{}", vestnik::opml::to_sources_toml(&feeds, &taken));
            Ok(ExitCode::SUCCESS)
        }
        Command::Opml {
            command: OpmlCommand::Export,
        } => {
            print!("{}", vestnik::opml::sources_opml(&load(&cli.config)?));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn check(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            if let Err(errors) = vestnik::topics::Topics::compile(&config) {
                for error in errors {
                    println!("{error}");
                }
                return ExitCode::FAILURE;
            }
            println!(
                "{}: ok ({} sources, {} topics)",
                path.display(),
                config.sources.len(),
                config.topics.len()
            );
            ExitCode::SUCCESS
        }
        Err(error @ (LoadError::Io { .. } | LoadError::Invalid(_))) => {
            for line in error.errors() {
                println!("{line}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn poll(config: &Config, only: Option<&str>, as_json: bool) -> anyhow::Result<ExitCode> {
    let sources = daemon::select_sources(config, only)?;
    let topics = daemon::compile_topics(config)?;
    let store = daemon::open_store(config)?;
    daemon::index_topics(&topics, &store).await?;
    let total = sources.len();
    let mut done = 0;
    let progress = std::io::stderr().is_terminal();
    let reports = daemon::poll_once(config, &store, &topics, &sources, |report: &PollReport| {
        done += 1;
        if progress {
            eprint!("\r[{done}/{total}] {:<40}", report.source_id);
        }
    })
    .await?;
    if progress {
        eprintln!();
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "sources": reports }))?
        );
    } else {
        println!(
            "{:<20} {:<12} {:>4} {:>6} {:>5} {:>7} {:>9} {:>7} {:>5} {:>6} {:<20}  note",
            "source",
            "status",
            "http",
            "items",
            "new",
            "updated",
            "unchanged",
            "ms",
            "fails",
            "every",
            "next"
        );
        for report in &reports {
            print_report(report);
        }
    }
    // A source gone for good needs the operator as much as one that failed.
    let failed = reports
        .iter()
        .filter(|r| matches!(r.status, PollStatus::Failed | PollStatus::Disabled))
        .count();
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_report(report: &PollReport) {
    let status = match report.status {
        PollStatus::Ingested => "ingested",
        PollStatus::NotModified => "not-modified",
        PollStatus::Failed => "FAILED",
        PollStatus::Disabled => "DISABLED",
    };
    let state = &report.state;
    let mut notes = Vec::new();
    if let Some(error) = &report.error {
        notes.push(error.clone());
    }
    if let Some(moved) = &state.current_url {
        notes.push(format!("moved permanently to {moved}: update feeds.toml"));
    } else if let Some(url) = &report.final_url {
        notes.push(format!("redirected to {url}"));
    }
    if state.disabled.is_some() && report.status != PollStatus::Disabled {
        notes.push("disabled until its url changes".into());
    }
    let next = state
        .next_due
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into());
    println!(
        "{:<20} {:<12} {:>4} {:>6} {:>5} {:>7} {:>9} {:>7} {:>5} {:>6} {:<20}  {}",
        report.source_id,
        status,
        report
            .http_status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into()),
        report.items,
        report.inserted,
        report.updated,
        report.unchanged,
        report.elapsed_ms,
        state.consecutive_failures,
        interval_text(state.interval_secs),
        next,
        notes.join("; "),
    );
}

/// `6h`, `2h30m`, `29m`, `45s`: the interval in force, to the minute.
fn interval_text(secs: u64) -> String {
    match secs {
        0 => "-".into(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if (s / 60) % 60 == 0 => format!("{}h", s / 3600),
        s => format!("{}h{}m", s / 3600, (s / 60) % 60),
    }
}

async fn inspect(
    config_path: &Path,
    target: &str,
    kind: Option<KindArg>,
    source_id: Option<&str>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    // The config is optional here: inspect also serves to try out a source before adding it.
    let config = Config::load(config_path).ok();
    let source = match (source_id, &config) {
        (Some(id), Some(config)) => Some(
            config
                .source(id)
                .cloned()
                .with_context(|| format!("no source \"{id}\" in {}", config_path.display()))?,
        ),
        (Some(id), None) => bail!("--source {id} needs a valid {}", config_path.display()),
        (None, Some(config)) => config
            .sources
            .iter()
            .find(|s| s.url.as_str() == target)
            .cloned(),
        (None, None) => None,
    };
    let timezone = source
        .as_ref()
        .map(|s| s.timezone)
        .or(config.as_ref().map(|c| c.settings.timezone))
        .unwrap_or(chrono_tz::Europe::Moscow);
    let selectors = source.as_ref().and_then(|s| s.html.clone());
    let wants_html = matches!(kind, Some(KindArg::Html))
        || source.as_ref().is_some_and(|s| s.kind == SourceKind::Html);
    // An HTML page with a source's selectors is a news list; without them, one article.
    let reading = match (&selectors, wants_html) {
        (Some(selectors), true) => ingest::Reading::List(selectors),
        (None, true) => ingest::Reading::Article,
        (_, false) => ingest::Reading::Feed,
    };
    let strip = source.as_ref().map(|s| s.strip.clone()).unwrap_or_default();
    let target = match Url::parse(target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Target::Url(url),
        _ => Target::File(PathBuf::from(target)),
    };
    let fetcher = match &config {
        Some(config) => daemon::fetcher(config)?,
        None => vestnik::fetch::Fetcher::new(Default::default())?,
    };
    let preview = ingest::preview(&target, reading, timezone, &strip, &fetcher).await?;
    if as_json {
        let entries: Vec<_> = preview
            .entries
            .iter()
            .map(|e| {
                json!({
                    "title": e.title, "link": e.link, "canonical_url": e.canonical_url, "guid": e.guid,
                    "published": e.published.to_rfc3339(), "text": e.text, "content_html": e.content_html,
                    "language": e.language,
                })
            })
            .collect();
        let document = json!({
            "feed": {
                "title": preview.feed.title.as_deref().map(vestnik::normalize::text::title_text),
                "link": preview.feed.link, "language": preview.feed.language,
                "updated": preview.feed.updated.map(|d| d.to_rfc3339()),
            },
            "entries": entries,
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        let title = preview
            .feed
            .title
            .as_deref()
            .map(vestnik::normalize::text::title_text)
            .unwrap_or_default();
        println!("{title}");
        println!(
            "charset {} (decided by {:?}); {} items, {} entries",
            preview.charset,
            preview.charset_source,
            preview.feed.items.len(),
            preview.entries.len()
        );
        let single = matches!(reading, ingest::Reading::Article);
        for (entry, identity) in preview.entries.iter().zip(&preview.identity) {
            println!();
            println!(
                "{}  {}",
                entry.published.format("%Y-%m-%d %H:%M UTC"),
                entry.title
            );
            println!("  link      {}", entry.link.as_deref().unwrap_or("—"));
            println!("  identity  {identity}");
            println!("  language  {}", entry.language.as_deref().unwrap_or("—"));
            if single {
                // One article: all of it, a paragraph a line.
                for paragraph in entry.text.split("\n\n") {
                    println!("  | {paragraph}");
                }
            } else {
                let snippet: String = entry.text.chars().take(160).collect();
                println!("  text      {}", snippet.replace("\n\n", " ¶ "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(
    config: &Config,
    topic_id: &str,
    text: Option<&str>,
    entry_id: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let topics = daemon::compile_topics(config)?;
    let topic = topics
        .find(topic_id)
        .with_context(|| format!("no topic \"{topic_id}\" in {}", config.path.display()))?;
    let entry = match (text, entry_id) {
        (Some(text), _) => vestnik::normalize::Entry::from_text("", "", text),
        (None, Some(id)) => {
            let store = daemon::open_store(config)?;
            store
                .entry(&vestnik::cluster::EntryId(
                    // Feed readers show the story id of the output feeds; accept it as written.
                    id.trim_start_matches("urn:vestnik:story:").to_string(),
                ))?
                .with_context(|| {
                    format!(
                        "no entry \"{id}\" in the store at {}",
                        config.settings.data_dir.display()
                    )
                })?
                .entry
        }
        (None, None) => bail!("give --text TEXT or --entry ENTRY_ID"),
    };
    let region = topics.region_of(&entry.source_id);
    let explanation = topic.explain(&topics.analyse_fully(&entry), region);
    println!(
        "topic {} «{}»: {}",
        topic.id,
        topic.title,
        if explanation.matched {
            "matches"
        } else {
            "does not match"
        }
    );
    if let Some(restriction) = &explanation.restriction {
        println!("  excluded: {restriction}");
    }
    for term in &explanation.terms {
        let hits = if term.hits.is_empty() {
            "—".to_string()
        } else {
            term.hits
                .iter()
                .map(|(field, position, word)| format!("{field} word {}: {word}", position + 1))
                .collect::<Vec<_>>()
                .join("; ")
        };
        println!("  {:<32} {hits}", term.term);
    }
    Ok(if explanation.matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
