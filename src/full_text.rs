//! Full text for sources with `full_text = true`, whose feeds carry only a lead: each new item's
//! page is fetched once, with the same client as feeds (user agent, timeouts, body cap, charset
//! decision), and its main content (see [`crate::normalize::article`]) becomes the item's content.
//!
//! Items already stored keep the content they were stored with, so a page is fetched once per
//! item, not once per poll. On any failure the feed's own text stays. Pages are fetched one after
//! another: a source's site sees one request at a time from us.

use chrono::{DateTime, Utc};
use url::Url;

use crate::cluster::identity_keys;
use crate::config::Source;
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::normalize::{self, article, text, SourceContext};
use crate::parse::{DateParser, ParsedFeed};
use crate::store::Store;

/// What one pass did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FullTextReport {
    pub fetched: usize,
    pub failed: usize,
    pub already_stored: usize,
}

#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("not modified")]
    NotModified,
    #[error(transparent)]
    Extract(#[from] article::ExtractError),
}

/// Puts the article text of each new item's page into `feed`'s items.
pub async fn fill_in(
    source: &Source,
    feed: &mut ParsedFeed,
    base: &Url,
    store: &Store,
    fetcher: &Fetcher,
    dates: &DateParser,
    now: DateTime<Utc>,
) -> FullTextReport {
    let mut report = FullTextReport::default();
    let plain = SourceContext::new(&source.id, Some(base), &[]);
    for item in &mut feed.items {
        let Some(entry) = normalize::normalize(item, &plain, now) else {
            continue;
        };
        match store.find(&identity_keys(&entry)) {
            Ok(Some(stored)) => {
                item.content_html = Some(stored.entry.content_html);
                report.already_stored += 1;
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(source = %source.id, error = %error, "full text: cannot look the item up; keeping the feed's text");
                continue;
            }
        }
        let Some(link) = entry.link.as_deref().and_then(|l| Url::parse(l).ok()) else {
            continue;
        };
        match fetch_article(&link, fetcher, dates).await {
            Ok(found) => {
                // A page whose extraction is shorter than the feed's text lost the article.
                if text::html_to_text(&found.content_html).len() >= entry.text.len() {
                    item.content_html = Some(found.content_html);
                    if item.published.is_none() {
                        item.published = found.published;
                    }
                }
                report.fetched += 1;
            }
            Err(error) => {
                tracing::warn!(source = %source.id, url = %link, error = %error, "full text: keeping the feed's text");
                report.failed += 1;
            }
        }
    }
    report
}

async fn fetch_article(
    link: &Url,
    fetcher: &Fetcher,
    dates: &DateParser,
) -> Result<article::Article, PageError> {
    let document = match fetcher.fetch(link, &Validators::default()).await? {
        FetchOutcome::Fetched(document) => document,
        FetchOutcome::NotModified { .. } => return Err(PageError::NotModified),
    };
    let decoded = document.decode();
    Ok(article::extract_article(
        &decoded.text,
        Some(&document.meta.final_url),
        dates,
    )?)
}
