//! HTTP: output feeds with conditional GET and compression, the dashboard and health.
//!
//! Handlers are thin: they read the shared [`AppState`], and rendered feeds are cached per topic
//! and format until the store's generation moves, so a feed reader polling every minute costs a
//! hash comparison, not a render.

mod counting;
mod dashboard;
mod feed_cache;
pub mod limits;
pub mod websub;

use std::sync::{Arc, Mutex, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tower_http::compression::CompressionLayer;

use self::feed_cache::{CachedFeed, FeedCache};
use crate::config::Config;
use crate::config::Source;
use crate::publish::{self, FeedMeta, Format, RenderedFeed};
use crate::running::Running;
use crate::schedule::{SourceState, SourceStatus};
use crate::store::Store;
use crate::topics::{StoryView, TopicFeed, Topics};

/// What every handler shares.
pub struct AppState {
    /// The configuration in force, shared with the poller and the scheduler.
    pub running: Arc<Running>,
    pub store: Arc<Store>,
    cache: Mutex<FeedCache>,
    pub started: DateTime<Utc>,
    /// Errors of the last configuration edit that was refused (hot reload), shown to operators.
    config_errors: RwLock<Vec<String>>,
}

/// A rendered feed with its compressed bodies and the response headers that stay the same for
/// every request, made once per change and not per request: most requests are readers polling
/// a feed that has not changed, and a 304 should cost little more than reading the request.
#[derive(Debug)]
pub struct ServedFeed {
    /// The rendering's strong ETag, quotes included, and when its newest story changed.
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    /// The body in each coding, indexed by [`Coding`]; empty when compressing failed.
    bodies: [Bytes; 3],
    /// The strong ETag of each coding: each coding is its own representation (RFC 9110 8.8.3).
    etags: [Option<HeaderValue>; 3],
    last_modified_header: Option<HeaderValue>,
    cache_control: Option<HeaderValue>,
}

impl ServedFeed {
    /// `max_age`: seconds readers may keep it.
    fn new(feed: RenderedFeed, max_age: u64) -> ServedFeed {
        let RenderedFeed {
            bytes,
            etag,
            last_modified,
            ..
        } = feed;
        let gzip = {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let written = std::io::Write::write_all(&mut encoder, &bytes);
            written.and_then(|()| encoder.finish()).unwrap_or_default()
        };
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 9,
            lgwin: brotli_window_bits(bytes.len()),
            size_hint: bytes.len(),
            ..Default::default()
        };
        if brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params).is_err() {
            brotli.clear();
        }
        let tag = etag.trim_matches('"');
        let etags = [
            etag.clone(),
            format!("\"{tag}-gz\""),
            format!("\"{tag}-br\""),
        ]
        .map(|etag| HeaderValue::from_str(&etag).ok());
        ServedFeed {
            bodies: [bytes.into(), gzip.into(), brotli.into()],
            etags,
            last_modified_header: HeaderValue::from_str(&httpdate::fmt_http_date(
                last_modified.into(),
            ))
            .ok(),
            cache_control: HeaderValue::from_str(&format!("public, max-age={max_age}")).ok(),
            etag,
            last_modified,
        }
    }

    /// The body in a coding; empty when compressing it failed.
    pub fn body(&self, coding: Coding) -> &Bytes {
        &self.bodies[coding as usize]
    }
}

impl AppState {
    pub fn new(config: Arc<Config>, topics: Arc<Topics>, store: Arc<Store>) -> Arc<AppState> {
        AppState::with_running(Running::new(config, topics), store)
    }

    /// A server state over a configuration the daemon shares with its scheduler and poller.
    pub fn with_running(running: Arc<Running>, store: Arc<Store>) -> Arc<AppState> {
        Arc::new(AppState {
            running,
            store,
            cache: Mutex::new(FeedCache::default()),
            started: Utc::now(),
            config_errors: RwLock::new(Vec::new()),
        })
    }

    /// The configuration in force and its compiled topics.
    pub fn current(&self) -> (Arc<Config>, Arc<Topics>) {
        let current = self.running.current();
        (current.config, current.topics)
    }

    pub fn config(&self) -> Arc<Config> {
        self.running.config()
    }

    /// Swaps in a new configuration; cached feeds built on the old one are dropped, and so is
    /// the error of an earlier refused edit.
    pub fn replace_config(&self, config: Arc<Config>, topics: Arc<Topics>) {
        self.running.replace(config, topics);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.set_config_errors(Vec::new());
    }

    /// Records why the last configuration edit was refused (`file:line:col: message` each).
    pub fn set_config_errors(&self, errors: Vec<String>) {
        *self
            .config_errors
            .write()
            .unwrap_or_else(|p| p.into_inner()) = errors;
    }

    pub fn config_errors(&self) -> Vec<String> {
        self.config_errors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A source's saved state, as it applies to the URL now configured.
    pub fn source_state(&self, source: &Source) -> SourceState {
        let mut state = self
            .store
            .source_state(&source.id)
            .ok()
            .flatten()
            .unwrap_or_default();
        state.adopt_configured_url(source.url.as_str());
        state
    }

    /// The feed as last rendered, when nothing changed since (`Some(None)`: no such feed).
    ///
    /// Cheap enough for the server's own threads: most requests are a reader polling a feed
    /// that has not changed, and sending each through the blocking pool to find that out cost
    /// more than answering it (a third of nginx's rate on conditional requests).
    pub fn cached_feed(
        &self,
        topic_id: &str,
        format: Format,
        page: Option<usize>,
    ) -> Option<Option<Arc<ServedFeed>>> {
        // Read before the cache: a change after this makes the entry look stale, never fresh.
        let generation = self.store.generation();
        let config_version = self.running.version();
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let cached = cache.get(topic_id, format, page)?;
        (cached.generation == generation && cached.config_version == config_version)
            .then(|| cached.feed.clone())
    }

    /// The current bytes of one output feed, rendered again only when something changed.
    pub fn feed(
        &self,
        topic_id: &str,
        format: Format,
        page: Option<usize>,
    ) -> Result<Option<Arc<ServedFeed>>, FeedError> {
        if let Some(cached) = self.cached_feed(topic_id, format, page) {
            return Ok(cached);
        }
        let generation = self.store.generation();
        let config_version = self.running.version();
        let (config, topics) = self.current();
        let Some(topic) = topics.find(topic_id) else {
            return Ok(None);
        };
        let feed =
            render_topic(&config, &topics, &self.store, topic, format, page, false)?.map(|feed| {
                // A complete archive page does not change.
                let max_age = if page.is_some() {
                    86_400
                } else {
                    max_age(&config)
                };
                Arc::new(ServedFeed::new(feed, max_age))
            });
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remember(
                topic_id,
                format,
                page,
                CachedFeed {
                    generation,
                    config_version,
                    feed: feed.clone(),
                },
            );
        Ok(feed)
    }

    /// How many rendered feeds the server keeps, archive pages included (`vestnik_cached_feeds`).
    pub fn cached_feeds(&self) -> usize {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Render(#[from] publish::RenderError),
}

/// How long readers may keep a feed: the shortest poll interval, as nothing changes faster.
fn max_age(config: &Config) -> u64 {
    config
        .sources
        .iter()
        .map(|s| s.interval)
        .chain([config.settings.interval])
        .min()
        .map(|d| d.as_secs())
        .unwrap_or(900)
}

/// Renders one page of a topic's feed; used by the server and by `export`.
///
/// `page` `None` is the subscription document: the newest `max_items` stories. Archive pages
/// (RFC 5005) hold the older ones in complete pages of `max_items`, page 1 the oldest, so a page
/// once full never changes; `None` comes back for a page that does not exist. With
/// `static_archives` archive pages link to each other as files rather than as `?page=N`.
pub fn render_topic(
    config: &Config,
    topics: &Topics,
    store: &Store,
    topic: &TopicFeed,
    format: Format,
    page: Option<usize>,
    static_archives: bool,
) -> Result<Option<RenderedFeed>, FeedError> {
    let per_page = config.settings.max_items.max(1);
    // Archive pages are counted from the oldest story, so that their contents stay put: which
    // stories page n holds depends on how many there are, hence a count first.
    let listing = match page {
        None => topic.listing(store, 0, per_page)?,
        Some(n) => {
            let total = topic.story_count(store)?;
            if n == 0 || n > total / per_page {
                return Ok(None);
            }
            topic.listing(store, total - n * per_page, per_page)?
        }
    };
    let archive_pages = listing.stories / per_page;
    let stories = StoryView::load_all(store, &listing.page, topics.priorities())?;
    let mut meta = FeedMeta::new(config, &topic.id, &topic.title);
    meta.page = page;
    meta.archive_pages = archive_pages;
    meta.static_archives = static_archives;
    Ok(Some(publish::render(&meta, &stories, format)?))
}

/// How many complete archive pages a topic has.
pub fn archive_pages(
    config: &Config,
    store: &Store,
    topic: &TopicFeed,
) -> Result<usize, FeedError> {
    Ok(topic.story_count(store)? / config.settings.max_items.max(1))
}

pub fn router(state: Arc<AppState>) -> Router {
    // Feeds are compressed once per change by the cache; everything else on the fly.
    let pages = Router::new()
        .route(routes::DASHBOARD, get(dashboard::page))
        .route(routes::HEALTHZ, get(healthz))
        .route(routes::OPML, get(opml))
        .route(routes::METRICS, get(metrics_page))
        .layer(CompressionLayer::new().gzip(true).br(true));
    Router::new()
        .route(routes::FEEDS, get(feed))
        .route(routes::STYLESHEET, get(stylesheet))
        .merge(pages)
        .layer(counting::CountRequests { label: route_label })
        .with_state(state)
}

/// The routes [`router`] serves; also their metric labels.
mod routes {
    pub const FEEDS: &str = "/feeds/{file}";
    pub const STYLESHEET: &str = "/feed.xsl";
    pub const DASHBOARD: &str = "/";
    pub const HEALTHZ: &str = "/healthz";
    pub const OPML: &str = "/opml";
    pub const METRICS: &str = "/metrics";
    pub const ALL: [&str; 6] = [FEEDS, STYLESHEET, DASHBOARD, HEALTHZ, OPML, METRICS];
}

fn route_label(pattern: &str) -> &'static str {
    routes::ALL
        .iter()
        .find(|route| **route == pattern)
        .copied()
        .unwrap_or("unmatched")
}

/// `GET /metrics`: counters as recorded, and gauges of the store and topics read now.
async fn metrics_page(State(state): State<Arc<AppState>>) -> Response {
    let gauges = tokio::task::spawn_blocking(move || {
        let (_, topics) = state.current();
        metrics::gauge!("vestnik_entries").set(state.store.entry_count() as f64);
        metrics::gauge!("vestnik_cached_feeds").set(state.cached_feeds() as f64);
        if let Ok(bytes) = state.store.size_on_disk() {
            metrics::gauge!("vestnik_store_bytes").set(bytes as f64);
        }
        for topic in topics.feeds() {
            if let Ok(stories) = topic.story_count(&state.store) {
                if topic.is_all() {
                    metrics::gauge!("vestnik_stories").set(stories as f64);
                }
                metrics::gauge!("vestnik_topic_stories", "topic" => topic.id.clone())
                    .set(stories as f64);
            }
        }
    })
    .await;
    if let Err(e) = gauges {
        tracing::error!(error = %e, "cannot read the store's gauges");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::handle().render(),
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/xsl; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        publish::STYLESHEET,
    )
        .into_response()
}

async fn opml(State(state): State<Arc<AppState>>) -> Response {
    let (config, topics) = state.current();
    (
        [(header::CONTENT_TYPE, "text/x-opml; charset=utf-8")],
        crate::opml::feeds_opml(&config, &topics),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    page: Option<usize>,
}

/// Content codings a feed is kept in (the discriminants index [`ServedFeed`]'s arrays).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Coding {
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}

/// The smallest brotli window that holds all of `len` bytes (less 16, as brotli's windows
/// are): the same output as its default 4 MiB window, without that window's buffers, which
/// jemalloc's heap profile put at 10 MB during each render of `all` on the memory bench.
fn brotli_window_bits(len: usize) -> i32 {
    let bits = len.saturating_add(16).next_power_of_two().trailing_zeros();
    // brotli takes 10 to 24 bits; 22 is its default.
    bits.clamp(10, 22) as i32
}

/// The best coding the client accepts: brotli, then gzip, else the plain bytes.
fn negotiate(headers: &HeaderMap) -> Coding {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Coding::Identity;
    };
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut pieces = part.split(';');
            let coding = pieces.next().unwrap_or_default().trim();
            let refused = pieces.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if accepts("br") {
        Coding::Brotli
    } else if accepts("gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

async fn feed(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(query): Query<FeedQuery>,
    // The request itself rather than a `HeaderMap` extractor, which would copy the headers.
    request: axum::extract::Request,
) -> Response {
    let headers = request.headers();
    let Some((topic, format)) = file
        .rsplit_once('.')
        .and_then(|(topic, ext)| Some((topic, Format::from_extension(ext)?)))
    else {
        return (
            StatusCode::NOT_FOUND,
            "no such feed: expected /feeds/TOPIC.rss, .atom or .json\n",
        )
            .into_response();
    };
    let page = query.page;
    let rendered = match state.cached_feed(topic, format, page) {
        Some(cached) => Ok(Ok(cached)),
        None => {
            let render_state = Arc::clone(&state);
            let topic_id = topic.to_string();
            tokio::task::spawn_blocking(move || render_state.feed(&topic_id, format, page)).await
        }
    };
    let served = match rendered {
        Ok(Ok(Some(feed))) => feed,
        Ok(Ok(None)) => {
            let what = match page {
                Some(n) => format!("no archive page {n} of topic \"{topic}\"\n"),
                None => format!("no topic \"{topic}\"\n"),
            };
            return (StatusCode::NOT_FOUND, what).into_response();
        }
        Ok(Err(e)) => {
            tracing::error!(topic = %topic, error = %e, "cannot render a feed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot render this feed; see the daemon's log\n",
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!(topic = %topic, error = %e, "feed rendering task failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let coding = match negotiate(headers) {
        Coding::Brotli if !served.body(Coding::Brotli).is_empty() => Coding::Brotli,
        Coding::Gzip | Coding::Brotli if !served.body(Coding::Gzip).is_empty() => Coding::Gzip,
        _ => Coding::Identity,
    };
    let mut response = if is_not_modified(headers, &served.etag, served.last_modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = served.body(coding).clone().into_response();
        let out = response.headers_mut();
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        match coding {
            Coding::Identity => {}
            Coding::Gzip => {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Coding::Brotli => {
                out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
        }
        response
    };
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let cached = [
        (header::CACHE_CONTROL, &served.cache_control),
        (header::ETAG, &served.etags[coding as usize]),
        (header::LAST_MODIFIED, &served.last_modified_header),
    ];
    for (name, value) in cached {
        if let Some(value) = value {
            out.insert(name, value.clone());
        }
    }
    response
}

/// RFC 9110: If-None-Match decides when present (weak comparison, any coding of this version);
/// else If-Modified-Since.
fn is_not_modified(headers: &HeaderMap, etag: &str, last_modified: DateTime<Utc>) -> bool {
    if let Some(if_none_match) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = etag.trim_start_matches("W/").trim_matches('"');
        return if_none_match
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
            .map(|tag| {
                tag.strip_suffix("-gz")
                    .or_else(|| tag.strip_suffix("-br"))
                    .unwrap_or(tag)
            })
            .any(|tag| tag == "*" || tag == ours);
    }
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let since: DateTime<Utc> = since.into();
        return last_modified.timestamp() <= since.timestamp();
    }
    false
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    started: DateTime<Utc>,
    entries: usize,
    /// Why the last configuration edit was refused (`file:line:col: message`); empty when none.
    config_errors: Vec<String>,
    sources: Vec<SourceHealth>,
}

#[derive(Serialize)]
struct SourceHealth {
    id: String,
    /// The configured URL; `current_url` says where the source has moved, if it has.
    url: String,
    status: SourceStatus,
    #[serde(flatten)]
    state: SourceState,
}

/// `GET /healthz`. It reads every source's state from the store, so it runs on the blocking
/// pool, as the dashboard does: on the serving thread, the other connections that thread serves
/// would wait for it, and sled's reads wait while an ingest holds its transaction lock.
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    match tokio::task::spawn_blocking(move || health(&state)).await {
        Ok(health) => Json(health).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn health(state: &AppState) -> serde_json::Value {
    let config = state.config();
    let sources: Vec<SourceHealth> = config
        .sources
        .iter()
        .map(|source| {
            let source_state = state.source_state(source);
            SourceHealth {
                id: source.id.clone(),
                url: source.url.to_string(),
                status: source_state.status(),
                state: source_state,
            }
        })
        .collect();
    let healthy = sources
        .iter()
        .all(|s| matches!(s.status, SourceStatus::Ok | SourceStatus::Pending));
    let health = Health {
        status: if healthy { "ok" } else { "degraded" },
        started: state.started,
        entries: state.store.entry_count(),
        config_errors: state.config_errors(),
        sources,
    };
    serde_json::to_value(health).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brotli(bytes: &[u8], lgwin: i32) -> Vec<u8> {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 9,
            lgwin,
            ..Default::default()
        };
        let mut out = Vec::new();
        brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
        out
    }

    #[test]
    fn the_brotli_window_holds_the_whole_feed_and_loses_nothing() {
        assert_eq!(brotli_window_bits(0), 10);
        assert_eq!(brotli_window_bits(1008), 10);
        assert_eq!(brotli_window_bits(1009), 11);
        assert_eq!(brotli_window_bits(300_000), 19);
        assert_eq!(brotli_window_bits(100 << 20), 22);
        // A feed whose second half repeats its first, 200 KB back (an archive page listing the
        // same syndicated stories again): only a window that holds the whole feed finds that.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut word = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            [
                "район",
                "школа",
                "грант",
                "мост",
                "выставка",
                "депутат",
                "урожай",
                "музей",
            ][(state % 8) as usize]
                .to_string()
                + &(state % 1000).to_string()
        };
        let half: String = (0..20_000).map(|_| word() + " ").collect();
        let feed = format!("<rss>{half}{half}</rss>");
        assert!(feed.len() > 300_000, "{}", feed.len());
        let fitted = brotli(feed.as_bytes(), brotli_window_bits(feed.len()));
        let default = brotli(feed.as_bytes(), 22);
        let small_window = brotli(feed.as_bytes(), 16);
        assert!(
            fitted.len() <= default.len() + default.len() / 100,
            "{} against {}",
            fitted.len(),
            default.len()
        );
        assert!(
            small_window.len() > fitted.len() * 3 / 2,
            "the feed does not tell windows apart: {} against {}",
            small_window.len(),
            fitted.len()
        );
    }
}
