//! WebSub (W3C): when a feed's bytes change, the configured hub is told to fetch it again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::AppState;
use crate::publish::{FeedMeta, Format};

/// Remembers each feed's ETag and pings the hub for the ones that changed.
pub struct Notifier {
    state: Arc<AppState>,
    client: reqwest::Client,
    seen: HashMap<String, String>,
    primed: bool,
}

impl Notifier {
    pub fn new(state: Arc<AppState>) -> Notifier {
        Notifier {
            state,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            seen: HashMap::new(),
            primed: false,
        }
    }

    /// Renders every feed (from the serving cache when unchanged) and pings the hub with the URLs
    /// of those whose ETag moved since the last check. The first check only records. Returns
    /// the URLs the hub accepted.
    pub async fn check(&mut self) -> Vec<String> {
        let (config, topics) = self.state.current();
        let Some(hub) = config.settings.hub.clone() else {
            return Vec::new();
        };
        let mut changed = Vec::new();
        for topic in topics.feeds() {
            let meta = FeedMeta::new(&config, &topic.id, &topic.title);
            for format in Format::ALL {
                let state = Arc::clone(&self.state);
                let id = topic.id.clone();
                let rendered =
                    tokio::task::spawn_blocking(move || state.feed(&id, format, None)).await;
                let Ok(Ok(Some(feed))) = rendered else {
                    continue;
                };
                let url = meta.self_url(format);
                if self.seen.get(&url) != Some(&feed.etag) {
                    self.seen.insert(url.clone(), feed.etag.clone());
                    changed.push(url);
                }
            }
        }
        if !std::mem::replace(&mut self.primed, true) {
            return Vec::new();
        }
        let mut pinged = Vec::new();
        for url in changed {
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("hub.mode", "publish")
                .append_pair("hub.url", &url)
                .finish();
            let ping = self
                .client
                .post(&hub)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
            match ping.send().await {
                Ok(response) if response.status().is_success() => {
                    tracing::info!(%hub, feed = %url, "hub told of a changed feed");
                    pinged.push(url);
                }
                Ok(response) => {
                    tracing::warn!(%hub, feed = %url, status = response.status().as_u16(), "the hub refused a ping");
                }
                Err(e) => tracing::warn!(%hub, feed = %url, error = %e, "cannot reach the hub"),
            }
        }
        pinged
    }
}

/// Checks every `every` until stopped, when the store or the configuration moved.
pub fn spawn(
    state: Arc<AppState>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut notifier = Notifier::new(Arc::clone(&state));
        let mut last = None;
        loop {
            let now = (
                state.store.generation(),
                Arc::as_ptr(&state.config()) as usize,
            );
            if last != Some(now) {
                last = Some(now);
                notifier.check().await;
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    })
}
