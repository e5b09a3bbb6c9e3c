//! Shared test machinery: a real HTTP upstream on 127.0.0.1 serving fixture feeds, configs in
//! temp directories, and Vestnik's own server started on a loopback port.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
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
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: Some(content_type.to_string()),
            etag: None,
            body,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            content_type: Some("text/html".into()),
            etag: None,
            body: b"<html><body>error</body></html>".to_vec(),
        }
    }

    pub fn with_etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_string());
        self
    }
}

/// One request the upstream saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
}

/// A loopback HTTP server with fixed replies per path; it records every request.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    replies: Arc<Mutex<HashMap<String, Reply>>>,
}

impl Upstream {
    pub async fn start(replies: Vec<(&str, Reply)>) -> Upstream {
        let replies: Arc<Mutex<HashMap<String, Reply>>> = Arc::new(Mutex::new(
            replies
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        ));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (Arc::clone(&replies), Arc::clone(&seen));
        let app = Router::new().fallback(move |request: Request<Body>| {
            let (replies, seen) = (Arc::clone(&r), Arc::clone(&s));
            async move { answer(&replies, &seen, request) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream {
            addr,
            seen,
            replies,
        }
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

fn answer(
    replies: &Mutex<HashMap<String, Reply>>,
    seen: &Mutex<Vec<Seen>>,
    request: Request<Body>,
) -> Response<Body> {
    let path = request.uri().path().to_string();
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: request.headers().clone(),
    });
    let Some(reply) = replies.lock().unwrap().get(&path).cloned() else {
        return Response::builder()
            .status(404)
            .body(Body::from("not found"))
            .unwrap();
    };
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
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
    let mut text = format!(
        "[settings]\nlisten = \"{listen}\"\ndata_dir = \"data\"\nbase_url = \"http://{listen}\"\ninterval = \"15m\"\ntimeout = \"5s\"\nretention = \"36500d\"\n\n"
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
