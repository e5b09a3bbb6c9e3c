//! One HTTP GET per due source: conditional, compressed, bounded in time and size, redirects
//! followed by hand so that a permanent move (301, 308) can be told from a temporary one.
//!
//! The body is returned as bytes together with what decides its charset; [`charset`] turns it
//! into UTF-8 so that no parser ever guesses.

pub mod charset;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use url::Url;

pub use charset::{decode, CharsetSource, Decoded};

use crate::schedule::CacheHeaders;

/// Sent with every request, so site owners can see who polls them and find the project.
pub const USER_AGENT: &str = concat!(
    "vestnik/",
    env!("CARGO_PKG_VERSION"),
    " (+",
    env!("CARGO_PKG_HOMEPAGE"),
    ")"
);

/// Redirects followed before a fetch fails.
pub const MAX_REDIRECTS: usize = 5;

/// How a fetcher behaves by default; filled from `[settings]`.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Per-request timeouts, when a source sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole fetch: every redirect and the last byte of the body.
    pub total: Duration,
}

/// Validators from the previous response, for a conditional GET.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What every answer that ends a fetch carries, 304s included.
#[derive(Debug, Clone)]
pub struct ResponseMeta {
    /// Where the request ended after redirects.
    pub final_url: Url,
    /// Where the permanent redirects at the start of the chain lead: the source has moved there.
    /// A permanent redirect after a temporary one moves nothing: the first URL stays the entry.
    pub moved_to: Option<Url>,
    pub status: u16,
    pub validators: Validators,
    pub cache: CacheHeaders,
}

/// A successful response with a body.
#[derive(Debug, Clone)]
pub struct Document {
    pub meta: ResponseMeta,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Document {
    /// The body as UTF-8, its charset decided as [`charset`] explains.
    pub fn decode(&self) -> Decoded {
        let http_charset = self
            .content_type
            .as_deref()
            .and_then(charset::charset_of_content_type);
        charset::decode(&self.body, http_charset)
    }
}

#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: the source has not changed since the validators were issued.
    NotModified(ResponseMeta),
    Fetched(Document),
}

impl FetchOutcome {
    pub fn meta(&self) -> &ResponseMeta {
        match self {
            FetchOutcome::NotModified(meta) => meta,
            FetchOutcome::Fetched(document) => &document.meta,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    /// An answer that is not 2xx, 304 or a redirect; `retry_after` as the server wrote it.
    #[error("HTTP status {status}")]
    Status {
        status: u16,
        url: Url,
        retry_after: Option<String>,
    },
    #[error("more than {MAX_REDIRECTS} redirects, the last to {0}")]
    TooManyRedirects(Url),
    #[error("redirect loop: {0} again")]
    RedirectLoop(Url),
    #[error("bad redirect from {from}: {reason}")]
    BadRedirect { from: Url, reason: String },
    #[error("response larger than the limit of {limit} bytes")]
    TooLarge { limit: u64, status: u16 },
    #[error("request failed: {0}")]
    Request(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    fn from_reqwest(error: reqwest::Error) -> FetchError {
        if error.is_connect() {
            FetchError::Connect(error_chain(&error))
        } else {
            FetchError::Request(error_chain(&error))
        }
    }

    /// The HTTP status that ended the fetch, if one did.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::TooLarge { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// reqwest's own message is only "error sending request"; the cause is further down the chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// An HTTP client shared by all polls (it pools connections per host).
#[derive(Debug, Clone)]
pub struct Fetcher {
    limits: FetchLimits,
    /// One client per connect timeout in use: reqwest sets that timeout per client only.
    clients: Arc<Mutex<HashMap<Duration, reqwest::Client>>>,
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let fetcher = Fetcher {
            clients: Arc::new(Mutex::new(HashMap::new())),
            limits,
        };
        fetcher.client(fetcher.limits.connect_timeout)?;
        Ok(fetcher)
    }

    pub fn default_timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.limits.connect_timeout,
            total: self.limits.timeout,
        }
    }

    fn client(&self, connect_timeout: Duration) -> Result<reqwest::Client, FetchError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&connect_timeout) {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        clients.insert(connect_timeout, client.clone());
        Ok(client)
    }

    /// GETs `url` with the default timeouts, conditionally when validators are given.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        self.fetch_with(url, validators, self.default_timeouts())
            .await
    }

    /// GETs `url`, following up to [`MAX_REDIRECTS`] redirects, all within `timeouts.total`.
    pub async fn fetch_with(
        &self,
        url: &Url,
        validators: &Validators,
        timeouts: Timeouts,
    ) -> Result<FetchOutcome, FetchError> {
        let client = self.client(timeouts.connect)?;
        tokio::time::timeout(timeouts.total, self.follow(&client, url, validators))
            .await
            .map_err(|_| FetchError::Timeout(timeouts.total))?
    }

    async fn follow(
        &self,
        client: &reqwest::Client,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let headers = request_headers(validators);
        let mut visited = vec![url.clone()];
        let mut moved_to = None;
        let mut only_permanent_so_far = true;
        loop {
            let current = visited.last().cloned().unwrap_or_else(|| url.clone());
            let response = client
                .get(current.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(FetchError::from_reqwest)?;
            let status = response.status();
            if !is_redirect(status) {
                return self.finish(response, current, moved_to).await;
            }
            let next = redirect_target(&response, &current)?;
            if visited.contains(&next) {
                return Err(FetchError::RedirectLoop(next));
            }
            if visited.len() > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects(next));
            }
            let permanent = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            only_permanent_so_far &= permanent;
            if only_permanent_so_far {
                moved_to = Some(next.clone());
            }
            visited.push(next);
        }
    }

    async fn finish(
        &self,
        mut response: reqwest::Response,
        final_url: Url,
        moved_to: Option<Url>,
    ) -> Result<FetchOutcome, FetchError> {
        let status = response.status();
        let header_text = |name: HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if status != StatusCode::NOT_MODIFIED && !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: final_url,
                retry_after: header_text(header::RETRY_AFTER),
            });
        }
        let meta = ResponseMeta {
            moved_to,
            status: status.as_u16(),
            validators: Validators {
                etag: header_text(header::ETAG),
                last_modified: header_text(header::LAST_MODIFIED),
            },
            cache: CacheHeaders {
                cache_control: header_text(header::CACHE_CONTROL),
                expires: header_text(header::EXPIRES),
                date: header_text(header::DATE),
                age: header_text(header::AGE),
            },
            final_url,
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified(meta));
        }
        let content_type = header_text(header::CONTENT_TYPE);
        let limit = self.limits.max_body_bytes;
        let too_large = FetchError::TooLarge {
            limit,
            status: status.as_u16(),
        };
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large);
        }
        // Counted chunk by chunk after decompression, so neither a lying Content-Length nor a
        // compression bomb gets past the limit.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Document {
            meta,
            content_type,
            body,
        }))
    }
}

fn request_headers(validators: &Validators) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static(
            "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
        ),
    );
    let validator =
        |value: &Option<String>| value.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(etag) = validator(&validators.etag) {
        headers.insert(header::IF_NONE_MATCH, etag);
    }
    if let Some(date) = validator(&validators.last_modified) {
        headers.insert(header::IF_MODIFIED_SINCE, date);
    }
    headers
}

/// The statuses that send the client elsewhere with a GET.
fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

fn redirect_target(response: &reqwest::Response, from: &Url) -> Result<Url, FetchError> {
    let bad = |reason: &str| FetchError::BadRedirect {
        from: from.clone(),
        reason: reason.to_string(),
    };
    let location = response
        .headers()
        .get(header::LOCATION)
        .ok_or_else(|| bad("no Location header"))?
        .to_str()
        .map_err(|_| bad("a Location that is not text"))?;
    let target = from
        .join(location.trim())
        .map_err(|e| bad(&format!("Location \"{location}\": {e}")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "Location \"{location}\" is not http or https"
        )));
    }
    Ok(target)
}
