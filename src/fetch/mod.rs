//! One HTTP GET per due source: conditional, compressed, bounded in time and size.
//!
//! The body is returned as bytes together with what decides its charset; [`charset`] turns it
//! into UTF-8 so that no parser ever guesses.

pub mod charset;

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use url::Url;

pub use charset::{decode, CharsetSource, Decoded};

/// Sent with every request, so site owners can see who polls them and find the project.
pub const USER_AGENT: &str = concat!(
    "vestnik/",
    env!("CARGO_PKG_VERSION"),
    " (+",
    env!("CARGO_PKG_HOMEPAGE"),
    ")"
);

/// How a fetcher behaves; filled from `[settings]`.
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

/// Validators from the previous response, for a conditional GET.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where the request ended after redirects.
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub validators: Validators,
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
    NotModified {
        final_url: Url,
    },
    Fetched(Document),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("too many redirects")]
    Redirects,
    #[error("response larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("request failed: {0}")]
    Request(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    fn from_reqwest(error: reqwest::Error) -> FetchError {
        if error.is_timeout() {
            FetchError::Timeout
        } else if error.is_redirect() {
            FetchError::Redirects
        } else if error.is_connect() {
            FetchError::Connect(error_chain(&error))
        } else {
            FetchError::Request(error_chain(&error))
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
    client: reqwest::Client,
    limits: FetchLimits,
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Fetcher { client, limits })
    }

    /// GETs `url`, conditionally when validators are given.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            ),
        );
        if let Some(etag) = validators
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, date);
        }
        let mut response = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(FetchError::from_reqwest)?;
        let final_url = response.url().clone();
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified { final_url });
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let header_text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header_text(header::CONTENT_TYPE);
        let validators = Validators {
            etag: header_text(header::ETAG),
            last_modified: header_text(header::LAST_MODIFIED),
        };
        let limit = self.limits.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        // Counted chunk by chunk after decompression, so neither a lying Content-Length nor a
        // compression bomb gets past the limit.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Document {
            final_url,
            status: status.as_u16(),
            content_type,
            validators,
            body,
        }))
    }
}
