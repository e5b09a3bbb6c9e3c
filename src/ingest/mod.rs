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
use crate::config::{HtmlSelectors, Settings, Source, SourceKind};
use crate::fetch::{CharsetSource, FetchError, FetchOutcome, Fetcher, Timeouts, Validators};
use crate::full_text;
use crate::normalize::{self, Entry, SourceContext};
use crate::parse::{self, DateParser, ParseError, ParsedFeed};
use crate::running::Running;
use crate::schedule::{
    self, CacheHeaders, Clock, ConcurrencyLimits, Policy, PollOutcome, SourceState, SourceStatus,
};
use crate::store::{Store, StoreError, Upsert};

mod pool;
pub use pool::{IngestPool, PoolError};

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
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// What one poll did, for logs, `vestnik poll` and the scheduler.
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
    /// The URL polled: the configured one, or where the source has moved.
    pub url: String,
    /// Set when the response came from another URL than the one polled (any redirect).
    pub final_url: Option<String>,
    pub elapsed_ms: u128,
    /// Where an ingested poll's time went, stage by stage; all zero for any other poll.
    pub stages: StageTimes,
    /// Bytes of the response body (after decompression); 0 for a 304 or a failure.
    pub bytes: usize,
    /// The source's health and state as saved after this poll.
    pub source_status: SourceStatus,
    pub state: SourceState,
}

impl PollReport {
    pub fn new(source_id: &str, url: &str) -> PollReport {
        PollReport {
            source_id: source_id.to_string(),
            status: PollStatus::Failed,
            http_status: None,
            items: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            error: None,
            url: url.to_string(),
            final_url: None,
            elapsed_ms: 0,
            stages: StageTimes::default(),
            bytes: 0,
            source_status: SourceStatus::Pending,
            state: SourceState::default(),
        }
    }

    /// One finished poll: its outcome, latency, bytes, new entries and merged duplicates.
    fn record_metrics(&self) {
        crate::telemetry::handle();
        let outcome = match self.status {
            PollStatus::Ingested => "ingested",
            PollStatus::NotModified => "not_modified",
            PollStatus::Failed => "failed",
            PollStatus::Disabled => "disabled",
        };
        let source = self.source_id.clone();
        metrics::counter!("vestnik_polls_total", "source" => source.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("vestnik_fetch_seconds", "source" => source.clone())
            .record(self.elapsed_ms as f64 / 1000.0);
        metrics::counter!("vestnik_fetched_bytes_total", "source" => source.clone())
            .increment(self.bytes as u64);
        metrics::counter!("vestnik_items_ingested_total", "source" => source.clone())
            .increment(self.inserted as u64);
        metrics::counter!("vestnik_duplicates_merged_total", "source" => source)
            .increment((self.updated + self.unchanged) as u64);
    }
}

/// Microseconds of wall time each stage of an ingested poll took, in pipeline order: what an
/// operator (and the ingest benchmark) reads to see which stage a slow source spends its time in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StageTimes {
    /// Charset decision, decoding, repair and parsing (and full-text page fetches).
    pub parse_us: u64,
    pub normalize_us: u64,
    /// Identity keys and the store's transactions.
    pub store_us: u64,
    /// Placing new entries in stories.
    pub stories_us: u64,
    /// Evaluating topics and recording them.
    pub topics_us: u64,
    /// Waiting for the store to reach the disk.
    pub flush_us: u64,
}

/// Adds the time since `*mark` to `stage` and moves `mark` to now.
fn lap(stage: &mut u64, mark: &mut Instant) {
    let now = Instant::now();
    *stage += u64::try_from(now.duration_since(*mark).as_micros()).unwrap_or(u64::MAX);
    *mark = now;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    Ingested,
    NotModified,
    Failed,
    /// Not polled: the source answered 410 Gone before and its URL has not changed since.
    Disabled,
}

/// A date parser for a source: its time zone for dates without an offset, `now` for relative ones.
pub fn date_parser(timezone: chrono_tz::Tz, now: DateTime<Utc>) -> DateParser {
    Arc::new(move |text| normalize::dates::parse_date(text, timezone, now))
}

/// Polls sources: everything one poll needs, shared by the daemon and `vestnik poll`.
#[derive(Clone)]
pub struct Poller {
    pub store: Arc<Store>,
    /// Entries are placed in stories and indexed under the topics in force as they are stored.
    pub running: Arc<Running>,
    pub fetcher: Fetcher,
    pub clock: Clock,
    pub limits: Arc<ConcurrencyLimits>,
    /// Parsing, normalizing and storing is CPU work: it runs on these threads, one per core,
    /// so that many polls in flight do not fight over the cores (and over sled's locks).
    pub ingest_pool: Arc<IngestPool>,
    pub settings: Arc<Settings>,
}

/// A big poll (a first fetch of an archive feed) is stored, placed in stories and indexed a
/// slice at a time: placement then finds each entry's story features, computed while its store
/// writes were planned, still in the features cache (`cluster::story`, which holds 4,000),
/// where storing the whole poll first would have pushed the first entries' features out and
/// computed them twice.
const ENTRIES_PER_SLICE: usize = crate::parallel::BATCH;

/// What a poll that worked brought back, for the state and the schedule.
struct Stored {
    /// New validators; none on a 304 that sent none.
    validators: Option<Validators>,
    publications: Vec<DateTime<Utc>>,
    ttl_minutes: Option<u32>,
    cache: CacheHeaders,
    moved_to: Option<Url>,
}

impl Poller {
    /// The source's saved state, taken over for the URL now configured.
    pub fn state(&self, source: &Source) -> SourceState {
        let mut state = match self.store.source_state(&source.id) {
            Ok(state) => state.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(source = %source.id, error = %e, "cannot read the source's state; starting afresh");
                SourceState::default()
            }
        };
        state.adopt_configured_url(source.url.as_str());
        state
    }

    /// Polls a source once and stores what it has; never fails as a whole — a failure is
    /// recorded in the source's state and in the report, and the other sources go on. Waits
    /// for a slot under the global and per-host caps first.
    pub async fn poll(&self, source: &Source) -> PollReport {
        let started = Instant::now();
        let mut state = self.state(source);
        let url = state
            .current_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| source.url.clone());
        let mut report = PollReport::new(&source.id, url.as_str());
        if let Some(reason) = &state.disabled {
            tracing::debug!(source = %source.id, reason = %reason, "disabled; not polled");
            report.status = PollStatus::Disabled;
            report.error = Some(reason.clone());
            report.source_status = state.status();
            report.state = state;
            return report;
        }
        let _permit = self
            .limits
            .acquire(url.host_str().unwrap_or_default())
            .await;
        // Boxed: a poll waiting for its permit stays small, however many are queued.
        let result = Box::pin(self.fetch_and_store(source, &url, &state, &mut report)).await;
        let now = self.clock.now();
        let outcome = match result {
            Ok(stored) => {
                if let Some(validators) = stored.validators {
                    state.etag = validators.etag.or(state.etag.take());
                    state.last_modified = validators.last_modified.or(state.last_modified.take());
                }
                if report.status == PollStatus::Ingested {
                    state.items_seen = report.items as u64;
                }
                state.entries_stored += report.inserted as u64;
                state.last_status = report.http_status;
                if let Some(moved) = &stored.moved_to {
                    tracing::warn!(source = %source.id, from = %url, to = %moved, "moved permanently; update feeds.toml");
                }
                tracing::info!(source = %source.id, status = ?report.status, items = report.items, inserted = report.inserted, updated = report.updated, "polled");
                PollOutcome::Success {
                    publications: stored.publications,
                    ttl_minutes: stored.ttl_minutes,
                    cache: stored.cache,
                    moved_to: stored.moved_to.map(String::from),
                }
            }
            Err(error) => {
                report.status = PollStatus::Failed;
                report.error = Some(error.to_string());
                if let IngestError::Fetch(fetch_error) = &error {
                    report.http_status = fetch_error.status().or(report.http_status);
                }
                tracing::warn!(source = %source.id, error = %error, failures = state.consecutive_failures + 1, "poll failed");
                failure_outcome(&error, report.http_status, now)
            }
        };
        let policy = Policy::new(source, &self.settings);
        schedule::after_poll(&mut state, outcome, &policy, now, rand::random());
        if let Some(reason) = &state.disabled {
            tracing::warn!(source = %source.id, reason = %reason, "disabled");
        }
        let saved = self.store.put_source_state(&source.id, &state);
        let flushed = match saved {
            Ok(()) => self.store.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = flushed {
            tracing::error!(source = %source.id, error = %e, "cannot save the source's state");
            report.status = PollStatus::Failed;
            report.error = Some(e.to_string());
        }
        report.source_status = state.status();
        report.state = state;
        report.elapsed_ms = started.elapsed().as_millis();
        report.record_metrics();
        report
    }

    /// Fetches and stores; returns what the schedule and the state need.
    async fn fetch_and_store(
        &self,
        source: &Source,
        url: &Url,
        state: &SourceState,
        report: &mut PollReport,
    ) -> Result<Stored, IngestError> {
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let timeouts = Timeouts {
            connect: source.connect_timeout,
            total: source.timeout,
        };
        let outcome = self.fetcher.fetch_with(url, &validators, timeouts).await?;
        let meta = outcome.meta().clone();
        report.http_status = Some(meta.status);
        report.final_url = moved(url, &meta.final_url);
        let mut stored = Stored {
            validators: Some(meta.validators),
            publications: Vec::new(),
            ttl_minutes: None,
            cache: meta.cache,
            moved_to: meta.moved_to,
        };
        let document = match outcome {
            FetchOutcome::NotModified(_) => {
                report.status = PollStatus::NotModified;
                return Ok(stored);
            }
            FetchOutcome::Fetched(document) => document,
        };
        report.bytes = document.body.len();
        let source = source.clone();
        let writer = Arc::clone(&self.store);
        let running = Arc::clone(&self.running);
        let fetcher = self.fetcher.clone();
        let now = self.clock.now();
        let previous_success = state.last_success;
        let runtime = tokio::runtime::Handle::current();
        let ingest = move || -> Result<_, IngestError> {
            let mut stages = StageTimes::default();
            let mut mark = Instant::now();
            let decoded = document.decode();
            let base = &document.meta.final_url;
            let mut feed = parse_document(&decoded.text, base, &source, now)?;
            if source.full_text {
                // Page fetches are async; this is an ingest thread, where waiting is allowed.
                let dates = date_parser(source.timezone, now);
                let pages =
                    full_text::fill_in(&source, &mut feed, base, &writer, &fetcher, &dates, now);
                let report = runtime.block_on(pages);
                tracing::debug!(source = %source.id, ?report, "full text");
            }
            lap(&mut stages.parse_us, &mut mark);
            let entries = normalize_all(&feed, &source, base, &writer, now);
            lap(&mut stages.normalize_us, &mut mark);
            let mut counts = (0, 0, 0);
            let mut publications = Vec::new();
            let mut entries = entries.into_iter().peekable();
            while entries.peek().is_some() {
                let (batch, dated): (Vec<_>, Vec<_>) = entries
                    .by_ref()
                    .take(ENTRIES_PER_SLICE)
                    .map(|entry| {
                        let dated = (entry.published, entry.published != entry.first_seen);
                        let keys = identity_keys(&entry);
                        ((entry, keys), dated)
                    })
                    .unzip();
                for (outcome, (published, dated)) in writer.upsert_all(batch)?.iter().zip(dated) {
                    match outcome {
                        Upsert::Inserted(_) => {
                            counts.0 += 1;
                            publications.extend(schedule::publication_time(
                                published,
                                dated,
                                previous_success,
                                now,
                            ));
                        }
                        Upsert::Updated(_) => counts.1 += 1,
                        Upsert::Unchanged(_) => counts.2 += 1,
                    }
                }
                lap(&mut stages.store_us, &mut mark);
                // Copies of one story are put together before topics look at them.
                crate::cluster::story::place_pending(
                    &*writer,
                    &crate::cluster::story::StoryRules::default(),
                )?;
                lap(&mut stages.stories_us, &mut mark);
                // Topics are evaluated right away, by the topics in force now (a reload since
                // the fetch counts); an entry left pending by a crash here is evaluated on the
                // next poll or start.
                running.topics().index_pending(&writer)?;
                lap(&mut stages.topics_us, &mut mark);
            }
            Ok((
                counts,
                feed.items.len(),
                feed.ttl_minutes,
                publications,
                stages,
            ))
        };
        let ingested = self.ingest_pool.run(ingest).await??;
        let (counts, items, ttl_minutes, publications, mut stages) = ingested;
        // Entries reach the disk before the validators that would let us skip them next time.
        let mut mark = Instant::now();
        self.store.flush().await?;
        lap(&mut stages.flush_us, &mut mark);
        report.stages = stages;
        report.status = PollStatus::Ingested;
        report.items = items;
        (report.inserted, report.updated, report.unchanged) = counts;
        stored.publications = publications;
        stored.ttl_minutes = ttl_minutes;
        Ok(stored)
    }
}

/// What a failed poll means for the schedule: a server's `Retry-After` on 429 and 503, a 410
/// for good, a failure with backoff for everything else.
fn failure_outcome(error: &IngestError, status: Option<u16>, now: DateTime<Utc>) -> PollOutcome {
    let message = error.to_string();
    if let IngestError::Fetch(FetchError::Status {
        status,
        url,
        retry_after,
    }) = error
    {
        let wait = retry_after
            .as_deref()
            .filter(|_| matches!(status, 429 | 503))
            .and_then(|value| schedule::parse_retry_after(value, now));
        if let Some(wait) = wait {
            return PollOutcome::RetryAfter {
                wait,
                status: *status,
                error: format!("{message} (Retry-After: {}s)", wait.as_secs()),
            };
        }
        if *status == 410 {
            return PollOutcome::Gone {
                url: url.to_string(),
                error: message,
            };
        }
    }
    PollOutcome::Failure {
        status,
        error: message,
    }
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
            FetchOutcome::Fetched(doc) => (doc.body, doc.content_type, Some(doc.meta.final_url)),
            FetchOutcome::NotModified(meta) => {
                return Err(FetchError::Status {
                    status: meta.status,
                    url: meta.final_url,
                    retry_after: None,
                }
                .into())
            }
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
                ..ParsedFeed::default()
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
