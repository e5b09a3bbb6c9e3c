//! One poll of one source through the whole pipeline: fetch, decode, parse, normalize, identify,
//! store. This is where the stages meet; none of them knows about the others' callers.
//!
//! Order matters for crash safety: entries are written and flushed before the source's new
//! validators (ETag, Last-Modified) are, so a crash in between only means the next poll fetches
//! the whole feed again — and storing the same items again changes nothing.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::cluster::identity_keys;
use crate::config::{HtmlSelectors, Source, SourceKind};
use crate::fetch::{CharsetSource, FetchError, FetchOutcome, Fetcher, Validators};
use crate::full_text;
use crate::normalize::{self, Entry, SourceContext};
use crate::parse::{self, DateParser, ParseError, ParsedFeed};
use crate::schedule::{self, PollOutcome, SourceState};
use crate::store::{Store, StoreError, Upsert};
use crate::topics::Topics;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Extract(#[from] normalize::article::ExtractError),
    #[error("the parser task failed: {0}")]
    Task(String),
}

/// What one poll did, for logs, `vestnik poll` and the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct PollReport {
    pub source_id: String,
    pub status: PollStatus,
    pub http_status: Option<u16>,
    /// Items in the response.
    pub items: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub error: Option<String>,
    /// Set when the response came from another URL than the configured one.
    pub final_url: Option<String>,
    pub elapsed_ms: u128,
    /// Bytes of the response body (after decompression); 0 for a 304 or a failure.
    pub bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    Ingested,
    NotModified,
    Failed,
}

/// A date parser for a source: its time zone for dates without an offset, `now` for relative ones.
pub fn date_parser(timezone: chrono_tz::Tz, now: DateTime<Utc>) -> DateParser {
    Arc::new(move |text| normalize::dates::parse_date(text, timezone, now))
}

/// Polls a source once and stores what it has; never fails as a whole — a failure is recorded
/// in the source's state and in the report, and the other sources go on.
pub async fn poll_source(
    source: &Source,
    store: &Arc<Store>,
    fetcher: &Fetcher,
    topics: &Arc<Topics>,
) -> PollReport {
    let started = Instant::now();
    let mut report = PollReport {
        source_id: source.id.clone(),
        status: PollStatus::Failed,
        http_status: None,
        items: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        error: None,
        final_url: None,
        elapsed_ms: 0,
        bytes: 0,
    };
    let mut state = match store.source_state(&source.id) {
        Ok(state) => state.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(source = %source.id, error = %e, "cannot read the source's state; starting afresh");
            SourceState::default()
        }
    };
    let result = fetch_and_store(source, store, fetcher, topics, &state, &mut report).await;
    let now = Utc::now();
    state.last_attempt = Some(now);
    state.interval_secs = source.interval.as_secs();
    match result {
        Ok(validators) => {
            state.consecutive_failures = 0;
            state.last_error = None;
            state.last_success = Some(now);
            state.last_status = report.http_status;
            if let Some(validators) = validators {
                state.etag = validators.etag;
                state.last_modified = validators.last_modified;
                state.items_seen = report.items as u64;
            }
            state.entries_stored += report.inserted as u64;
            state.current_url = report.final_url.clone();
            state.next_due = Some(schedule::next_due(
                now,
                source.interval,
                PollOutcome::Success,
            ));
            tracing::info!(source = %source.id, status = ?report.status, items = report.items, inserted = report.inserted, updated = report.updated, "polled");
        }
        Err(error) => {
            report.status = PollStatus::Failed;
            if let IngestError::Fetch(FetchError::Status(code)) = &error {
                report.http_status = Some(*code);
            }
            state.consecutive_failures += 1;
            state.last_error = Some(error.to_string());
            state.last_status = report.http_status;
            state.next_due = Some(schedule::next_due(
                now,
                source.interval,
                PollOutcome::Failure,
            ));
            tracing::warn!(source = %source.id, error = %error, failures = state.consecutive_failures, "poll failed");
            report.error = Some(error.to_string());
        }
    }
    let saved = store.put_source_state(&source.id, &state);
    let flushed = match saved {
        Ok(()) => store.flush().await,
        Err(e) => Err(e),
    };
    if let Err(e) = flushed {
        tracing::error!(source = %source.id, error = %e, "cannot save the source's state");
        report.status = PollStatus::Failed;
        report.error = Some(e.to_string());
    }
    report.elapsed_ms = started.elapsed().as_millis();
    crate::telemetry::record_poll(&report);
    report
}

/// Fetches and stores; returns the validators to keep (none after a 304).
async fn fetch_and_store(
    source: &Source,
    store: &Arc<Store>,
    fetcher: &Fetcher,
    topics: &Arc<Topics>,
    state: &SourceState,
    report: &mut PollReport,
) -> Result<Option<Validators>, IngestError> {
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let document = match fetcher.fetch(&source.url, &validators).await? {
        FetchOutcome::NotModified { final_url } => {
            report.status = PollStatus::NotModified;
            report.http_status = Some(304);
            report.final_url = moved(&source.url, &final_url);
            return Ok(None);
        }
        FetchOutcome::Fetched(document) => document,
    };
    report.http_status = Some(document.status);
    report.bytes = document.body.len();
    report.final_url = moved(&source.url, &document.final_url);
    let source = source.clone();
    let writer = Arc::clone(store);
    let validators = document.validators.clone();
    let topics = Arc::clone(topics);
    let fetcher = fetcher.clone();
    let (counts, items) = tokio::task::spawn_blocking(move || -> Result<_, IngestError> {
        let decoded = document.decode();
        let now = Utc::now();
        let mut feed = parse_document(&decoded.text, &document.final_url, &source, now)?;
        if source.full_text {
            // Page fetches are async; this is a blocking-pool thread, where waiting is allowed.
            let dates = date_parser(source.timezone, now);
            let pages = full_text::fill_in(
                &source,
                &mut feed,
                &document.final_url,
                &writer,
                &fetcher,
                &dates,
                now,
            );
            let report = tokio::runtime::Handle::current().block_on(pages);
            tracing::debug!(source = %source.id, ?report, "full text");
        }
        let entries = normalize_all(&feed, &source, &document.final_url, &writer, now);
        let mut counts = (0, 0, 0);
        for entry in entries {
            let keys = identity_keys(&entry);
            match writer.upsert(entry, &keys)? {
                Upsert::Inserted(_) => counts.0 += 1,
                Upsert::Updated(_) => counts.1 += 1,
                Upsert::Unchanged(_) => counts.2 += 1,
            }
        }
        // Copies of one story are put together before topics look at them.
        crate::cluster::story::place_pending(
            &*writer,
            &crate::cluster::story::StoryRules::default(),
        )?;
        // Topics are evaluated right away; an entry left pending by a crash here is evaluated
        // on the next poll or start.
        topics.index_pending(&writer)?;
        Ok((counts, feed.items.len()))
    })
    .await
    .map_err(|e| IngestError::Task(e.to_string()))??;
    // Entries reach the disk before the validators that would let us skip them next time.
    store.flush().await?;
    report.status = PollStatus::Ingested;
    report.items = items;
    (report.inserted, report.updated, report.unchanged) = counts;
    Ok(Some(validators))
}

fn moved(configured: &Url, final_url: &Url) -> Option<String> {
    (configured != final_url).then(|| final_url.to_string())
}

/// Parses a decoded document the way its source kind says.
fn parse_document(
    text: &str,
    url: &Url,
    source: &Source,
    now: DateTime<Utc>,
) -> Result<ParsedFeed, ParseError> {
    let dates = date_parser(source.timezone, now);
    match (source.kind, &source.html) {
        (SourceKind::Html, Some(selectors)) => parse::parse_html_list(text, url, selectors, dates),
        _ => parse::parse_feed(text, Some(url), dates),
    }
}

/// Normalizes a poll's items with the source's `strip` list and its memory of recurring
/// paragraphs, which learns from them and is saved for the next poll.
fn normalize_all(
    feed: &ParsedFeed,
    source: &Source,
    base: &Url,
    store: &Store,
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let context = SourceContext::new(&source.id, Some(base), &source.strip);
    let mut memory = store.recurring_blocks(&source.id).unwrap_or_else(|e| {
        tracing::warn!(source = %source.id, error = %e, "cannot read the recurring paragraphs; starting afresh");
        Default::default()
    });
    let entries = normalize::normalize_items(&feed.items, &context, &mut memory, now);
    if let Err(e) = store.put_recurring_blocks(&source.id, &memory) {
        tracing::warn!(source = %source.id, error = %e, "cannot save the recurring paragraphs");
    }
    entries
}

/// A source as Vestnik sees it, without storing anything: for `vestnik inspect`.
#[derive(Debug, Clone)]
pub struct Preview {
    pub feed: ParsedFeed,
    pub entries: Vec<Entry>,
    pub identity: Vec<String>,
    pub charset: &'static str,
    pub charset_source: CharsetSource,
}

/// Where `inspect` reads from.
pub enum Target {
    Url(Url),
    File(std::path::PathBuf),
}

/// How `inspect` reads a document.
#[derive(Debug, Clone, Copy)]
pub enum Reading<'a> {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A news list page, with a source's CSS selectors.
    List(&'a HtmlSelectors),
    /// One article page, by main-content extraction.
    Article,
}

/// Fetches (or reads) a document, decodes, parses and normalizes it; `strip` is the source's
/// chrome list.
pub async fn preview(
    target: &Target,
    reading: Reading<'_>,
    timezone: chrono_tz::Tz,
    strip: &[String],
    fetcher: &Fetcher,
) -> Result<Preview, IngestError> {
    let (bytes, content_type, base) = match target {
        Target::Url(url) => match fetcher.fetch(url, &Validators::default()).await? {
            FetchOutcome::Fetched(doc) => (
                doc.body.clone(),
                doc.content_type.clone(),
                Some(doc.final_url),
            ),
            FetchOutcome::NotModified { .. } => return Err(FetchError::Status(304).into()),
        },
        Target::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| IngestError::File {
                path: path.display().to_string(),
                source,
            })?;
            (bytes, None, None)
        }
    };
    let http_charset = content_type
        .as_deref()
        .and_then(crate::fetch::charset::charset_of_content_type);
    let decoded = crate::fetch::decode(&bytes, http_charset);
    let now = Utc::now();
    let dates = date_parser(timezone, now);
    let feed = match reading {
        Reading::List(selectors) => {
            let page = base
                .clone()
                .unwrap_or_else(|| Url::parse("http://localhost/").expect("a constant URL parses"));
            parse::parse_html_list(&decoded.text, &page, selectors, dates)?
        }
        Reading::Article => {
            let article =
                normalize::article::extract_article(&decoded.text, base.as_ref(), &dates)?;
            ParsedFeed {
                title: article.title.clone(),
                link: article.link.clone(),
                language: article.language.clone(),
                updated: article.published,
                items: vec![article.into_item()],
            }
        }
        Reading::Feed => parse::parse_feed(&decoded.text, base.as_ref(), dates)?,
    };
    let context = SourceContext::new("inspect", base.as_ref(), strip);
    let mut memory = Default::default();
    let entries = normalize::normalize_items(&feed.items, &context, &mut memory, now);
    let identity = entries
        .iter()
        .map(|e| {
            identity_keys(e)
                .first()
                .map(|k| k.0.clone())
                .unwrap_or_default()
        })
        .collect();
    Ok(Preview {
        feed,
        entries,
        identity,
        charset: decoded.encoding.name(),
        charset_source: decoded.decided_by,
    })
}
