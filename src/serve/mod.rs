//! HTTP: output feeds with conditional GET and compression, the dashboard and health.
//!
//! Handlers are thin: they read the shared [`AppState`], and rendered feeds are cached per topic
//! and format until the store's generation moves, so a feed reader polling every minute costs a
//! hash comparison, not a render.

mod dashboard;
pub mod limits;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tower_http::compression::CompressionLayer;

use crate::config::Config;
use crate::publish::{self, FeedMeta, Format, RenderedFeed};
use crate::schedule::SourceState;
use crate::store::Store;
use crate::topics::{TopicFeed, Topics};

/// What every handler shares.
pub struct AppState {
    current: RwLock<(Arc<Config>, Arc<Topics>)>,
    pub store: Arc<Store>,
    cache: Mutex<HashMap<(String, Format), CachedFeed>>,
    pub started: DateTime<Utc>,
}

struct CachedFeed {
    generation: u64,
    config_version: usize,
    feed: Arc<RenderedFeed>,
}

impl AppState {
    pub fn new(config: Arc<Config>, topics: Arc<Topics>, store: Arc<Store>) -> Arc<AppState> {
        Arc::new(AppState {
            current: RwLock::new((config, topics)),
            store,
            cache: Mutex::new(HashMap::new()),
            started: Utc::now(),
        })
    }

    /// The configuration in force and its compiled topics.
    pub fn current(&self) -> (Arc<Config>, Arc<Topics>) {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        (Arc::clone(&current.0), Arc::clone(&current.1))
    }

    pub fn config(&self) -> Arc<Config> {
        self.current().0
    }

    /// Swaps in a new configuration; cached feeds built on the old one are dropped.
    pub fn replace_config(&self, config: Arc<Config>, topics: Arc<Topics>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (config, topics);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The current bytes of one output feed, rendered again only when something changed.
    pub fn feed(
        &self,
        topic_id: &str,
        format: Format,
    ) -> Result<Option<Arc<RenderedFeed>>, FeedError> {
        let (config, topics) = self.current();
        let Some(topic) = topics.find(topic_id) else {
            return Ok(None);
        };
        let generation = self.store.generation();
        let config_version = Arc::as_ptr(&config) as usize;
        let key = (topic_id.to_string(), format);
        if let Some(cached) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if cached.generation == generation && cached.config_version == config_version {
                return Ok(Some(Arc::clone(&cached.feed)));
            }
        }
        let feed = Arc::new(render_topic(&config, &topics, &self.store, topic, format)?);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
            key,
            CachedFeed {
                generation,
                config_version,
                feed: Arc::clone(&feed),
            },
        );
        Ok(Some(feed))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Render(#[from] publish::RenderError),
}

/// Selects a topic's newest stories and renders them; used by the server and by `export`.
pub fn render_topic(
    config: &Config,
    topics: &Topics,
    store: &Store,
    topic: &TopicFeed,
    format: Format,
) -> Result<RenderedFeed, FeedError> {
    let stories = topic.select(store, config.settings.max_items, topics.priorities())?;
    let meta = FeedMeta::new(config, &topic.id, &topic.title);
    Ok(publish::render(&meta, &stories, format)?)
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/feeds/{file}", get(feed))
        .route("/healthz", get(healthz))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .with_state(state)
}

async fn feed(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((topic, format)) = file
        .rsplit_once('.')
        .and_then(|(topic, ext)| Some((topic.to_string(), Format::from_extension(ext)?)))
    else {
        return (
            StatusCode::NOT_FOUND,
            "no such feed: expected /feeds/TOPIC.rss, .atom or .json\n",
        )
            .into_response();
    };
    let render_state = Arc::clone(&state);
    let topic_id = topic.clone();
    let rendered = tokio::task::spawn_blocking(move || render_state.feed(&topic_id, format)).await;
    let feed = match rendered {
        Ok(Ok(Some(feed))) => feed,
        Ok(Ok(None)) => {
            return (StatusCode::NOT_FOUND, format!("no topic \"{topic}\"\n")).into_response()
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
    let last_modified = httpdate::fmt_http_date(feed.last_modified.into());
    let mut response = if is_not_modified(&headers, &feed) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = feed.bytes.clone().into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        response
    };
    let out = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&feed.etag) {
        out.insert(header::ETAG, etag);
    }
    if let Ok(date) = HeaderValue::from_str(&last_modified) {
        out.insert(header::LAST_MODIFIED, date);
    }
    response
}

/// RFC 9110: If-None-Match decides when present (weak comparison); else If-Modified-Since.
fn is_not_modified(headers: &HeaderMap, feed: &RenderedFeed) -> bool {
    if let Some(if_none_match) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = feed.etag.trim_start_matches("W/");
        return if_none_match
            .split(',')
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag == ours);
    }
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let since: DateTime<Utc> = since.into();
        return feed.last_modified.timestamp() <= since.timestamp();
    }
    false
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    started: DateTime<Utc>,
    entries: usize,
    sources: Vec<SourceHealth>,
}

#[derive(Serialize)]
struct SourceHealth {
    id: String,
    url: String,
    status: &'static str,
    #[serde(flatten)]
    state: SourceState,
}

/// Whether a source's last poll worked: `ok`, `failing`, or `pending` before its first poll.
pub fn source_status(state: &SourceState) -> &'static str {
    if state.consecutive_failures > 0 {
        "failing"
    } else if state.last_success.is_some() {
        "ok"
    } else {
        "pending"
    }
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let config = state.config();
    let sources: Vec<SourceHealth> = config
        .sources
        .iter()
        .map(|source| {
            let source_state = state
                .store
                .source_state(&source.id)
                .ok()
                .flatten()
                .unwrap_or_default();
            SourceHealth {
                id: source.id.clone(),
                url: source.url.to_string(),
                status: source_status(&source_state),
                state: source_state,
            }
        })
        .collect();
    let failing = sources.iter().filter(|s| s.status == "failing").count();
    let health = Health {
        status: if failing == 0 { "ok" } else { "degraded" },
        started: state.started,
        entries: state.store.entry_count(),
        sources,
    };
    Json(serde_json::to_value(health).unwrap_or_default())
}
