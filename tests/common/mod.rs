//! Shared test machinery: a real HTTP upstream on loopback serving fixture feeds and faults
//! (statuses, redirects, delays, trickling and compressed bodies; it counts the requests in
//! progress at once), configs in temp directories, and Vestnik's own server on a loopback port.
//!
//! Delays use tokio's clock, so a test on a paused clock waits for them in virtual time only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::Router;

use vestnik::config::Config;

pub fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}

/// What the upstream answers on one path.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Waited before the answer starts.
    pub delay: Duration,
    /// When set, the body is sent one byte at a time with this pause between bytes, forever.
    pub trickle: Option<Duration>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: Some(content_type.to_string()),
            etag: None,
            headers: Vec::new(),
            delay: Duration::ZERO,
            trickle: None,
            body,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::ok("text/html", b"<html><body>error</body></html>".to_vec())
        }
    }

    /// A redirect with `status` to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).with_header("location", location)
    }

    /// `body` gzip-compressed, sent with `Content-Encoding: gzip`.
    pub fn gzip(content_type: &str, body: &[u8]) -> Reply {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(body).unwrap();
        Reply::ok(content_type, encoder.finish().unwrap()).with_header("content-encoding", "gzip")
    }

    pub fn with_etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_string());
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn trickling(mut self, every: Duration) -> Reply {
        self.trickle = Some(every);
        self
    }
}

/// One request the upstream saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    /// On tokio's clock, so paused-clock tests can read virtual times.
    pub at: tokio::time::Instant,
}

/// Requests in progress now, and the most there ever were at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// Counts a request in progress until dropped, whether the handler ends or is cancelled.
struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn enter(counter: &Arc<InFlight>) -> InFlightGuard {
        let now = counter.now.fetch_add(1, Ordering::SeqCst) + 1;
        counter.max.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(Arc::clone(counter))
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A loopback HTTP server with fixed replies per path; it records every request.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    replies: Arc<Mutex<HashMap<String, Reply>>>,
    in_flight: Arc<InFlight>,
}

impl Upstream {
    pub async fn start(replies: Vec<(&str, Reply)>) -> Upstream {
        Upstream::start_on("127.0.0.1", replies).await
    }

    /// Listens on `ip` (any of 127.0.0.0/8 is loopback on Linux: a second "host").
    pub async fn start_on(ip: &str, replies: Vec<(&str, Reply)>) -> Upstream {
        let replies: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(
            replies
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        ));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(InFlight::default());
        let (r, s, f) = (
            Arc::clone(&replies),
            Arc::clone(&seen),
            Arc::clone(&in_flight),
        );
        let app = Router::new().fallback(move |request: Request<Body>| {
            let (replies, seen, in_flight) = (Arc::clone(&r), Arc::clone(&s), Arc::clone(&f));
            async move {
                let _counted = InFlightGuard::enter(&in_flight);
                answer(&replies, &seen, request).await
            }
        });
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream {
            addr,
            seen,
            replies,
            in_flight,
        }
    }

    /// The most requests this upstream was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.max.load(Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.replies.lock().unwrap().insert(path.to_string(), reply);
    }

    pub fn requests_to(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn answer(
    replies: &Mutex<HashMap<String, Reply>>,
    seen: &Mutex<Vec<Seen>>,
    request: Request<Body>,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: request.headers().clone(),
        at: tokio::time::Instant::now(),
    });
    let reply = replies.lock().unwrap().get(&path).cloned();
    let Some(reply) = reply else {
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    tokio::time::sleep(reply.delay).await;
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (name, value) in &reply.headers {
        builder = builder.header(name, value);
    }
    if let Some(etag) = &reply.etag {
        builder = builder.header("etag", etag);
        let if_none_match = request
            .headers()
            .get("if-none-match")
            .and_then(|v| v.to_str().ok());
        if if_none_match == Some(etag.as_str()) {
            return builder.status(304).body(Body::empty()).unwrap();
        }
    }
    if let Some(content_type) = &reply.content_type {
        builder = builder.header("content-type", content_type);
    }
    if let Some(every) = reply.trickle {
        let bytes = futures_util::stream::unfold(0u8, move |n| async move {
            tokio::time::sleep(every).await;
            Some((
                Ok::<_, std::io::Error>(Bytes::from(vec![b' ' + n % 64])),
                n.wrapping_add(1),
            ))
        });
        return builder.body(Body::from_stream(bytes)).unwrap();
    }
    builder.body(Body::from(reply.body)).unwrap()
}

/// The four fixture sources of `tests/fixtures/feeds`, as `(id, path, reply)`.
pub fn fixture_sources() -> Vec<(&'static str, &'static str, Reply)> {
    vec![
        (
            "lenobl",
            "/lenobl/rss",
            Reply::ok(
                "application/rss+xml; charset=utf-8",
                fixture("feeds/lenobl.rss.xml"),
            ),
        ),
        (
            "vremya",
            "/vremya/rss",
            Reply::ok("text/xml", fixture("feeds/vremya.1251.rss.xml")),
        ),
        (
            "news47",
            "/news47/atom",
            Reply::ok("application/atom+xml", fixture("feeds/news47.atom.xml")),
        ),
        (
            "belta",
            "/belta/feed.json",
            Reply::ok("application/feed+json", fixture("feeds/belta.json")),
        ),
    ]
}

/// Writes a `feeds.toml` in `dir` naming `sources` (id, URL) and returns its path.
pub fn write_config(dir: &Path, listen: &str, sources: &[(&str, String)], extra: &str) -> PathBuf {
    write_config_with(dir, listen, "", sources, extra)
}

/// [`write_config`] with more `[settings]` lines.
pub fn write_config_with(
    dir: &Path,
    listen: &str,
    settings: &str,
    sources: &[(&str, String)],
    extra: &str,
) -> PathBuf {
    let mut text = format!(
        "[settings]\nlisten = \"{listen}\"\ndata_dir = \"data\"\nbase_url = \"http://{listen}\"\ninterval = \"15m\"\ntimeout = \"5s\"\nretention = \"36500d\"\n{settings}\n\n"
    );
    for (id, url) in sources {
        text.push_str(&format!(
            "[[source]]\nid = \"{id}\"\nurl = \"{url}\"\ntitle = \"Источник {id}\"\n\n"
        ));
    }
    text.push_str(extra);
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn load(path: &Path) -> Config {
    Config::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Serves Vestnik's router for `config` and `store` on a loopback port; returns its base URL.
pub async fn serve(config: Config, store: Arc<vestnik::store::Store>) -> String {
    let topics = vestnik::daemon::compile_topics(&config).unwrap();
    let state = vestnik::serve::AppState::new(Arc::new(config), topics, store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, vestnik::serve::router(state)).await });
    format!("http://{addr}")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an upstream serving `sources` (id, path, reply); returns it and each source's URL.
pub async fn start_sources(
    sources: &[(&'static str, &'static str, Reply)],
) -> (Upstream, Vec<(&'static str, String)>) {
    let upstream = Upstream::start(
        sources
            .iter()
            .map(|(_, path, reply)| (*path, reply.clone()))
            .collect(),
    )
    .await;
    let named = sources
        .iter()
        .map(|(id, path, _)| (*id, upstream.url(path)))
        .collect();
    (upstream, named)
}
