//! When each source is due, and what Vestnik remembers about polling it.
//!
//! The policy is pure: every function takes `now` and, where it wants randomness, a `jitter` in
//! `[0, 1)` drawn by the caller, so it is unit-tested without clocks or dice.
//!
//! - **Adaptive interval**: from the times the source really published (dated items, or the
//!   time new undated items appeared), clamped to `[min_interval, max_interval]`.
//! - **Cache floors**: never poll sooner than `Cache-Control: max-age`, `Expires` or RSS `<ttl>`
//!   ask.
//! - **Backoff**: consecutive failures double the wait, with jitter, up to `max_backoff`.
//! - **`Retry-After`** on 429 and 503: that source waits as long as its server asked.
//! - **410 Gone** disables the source until the operator changes its URL.
//!
//! [`Clock`] and [`ConcurrencyLimits`] are the two pieces with tokio in them: the time the
//! scheduler runs on (tokio's, so tests can pause it) and the global and per-host caps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{Settings, Source};

/// What Vestnik knows about one source between polls; persisted by the store, shown to
/// operators as it serializes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    /// Validators for the next conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_due: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// Where permanent redirects (301, 308) moved the source; it is polled there from then on.
    pub current_url: Option<String>,
    /// The configured URL this state belongs to: when the operator changes it in `feeds.toml`,
    /// what was learnt about the old URL (moves, 410, validators, backoff) is forgotten.
    pub configured_url: Option<String>,
    /// Items in the source's last successful response.
    pub items_seen: u64,
    /// Entries this source has added to the store, over its lifetime.
    pub entries_stored: u64,
    /// The interval in force: adaptive, clamped, and no shorter than the cache floor.
    pub interval_secs: u64,
    /// Why the source is no longer polled (410 Gone), until its URL changes.
    pub disabled: Option<String>,
    /// The source's server asked (429 or 503 with `Retry-After`) not to come back before this.
    pub retry_after: Option<DateTime<Utc>>,
    /// The feed's own `<ttl>` in minutes, kept for the polls that answer 304.
    pub ttl_minutes: Option<u32>,
    /// The first successful poll of this URL: how long the publishing rate has been watched.
    pub observed_since: Option<DateTime<Utc>>,
    /// Recent publication times, oldest first; the adaptive interval is computed from them.
    /// Persisted by the store beside the state, not in it: what `/healthz` and `vestnik poll
    /// --json` show is the state as serialized.
    #[serde(skip)]
    pub publications: Vec<DateTime<Utc>>,
}

/// A source's health in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// Not polled yet.
    Pending,
    Ok,
    /// The last poll failed; it is retried with backoff.
    Failing,
    /// Gone (410): not polled until its URL changes in `feeds.toml`.
    Disabled,
}

impl SourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Pending => "pending",
            SourceStatus::Ok => "ok",
            SourceStatus::Failing => "failing",
            SourceStatus::Disabled => "disabled",
        }
    }
}

impl SourceState {
    pub fn status(&self) -> SourceStatus {
        if self.disabled.is_some() {
            SourceStatus::Disabled
        } else if self.consecutive_failures > 0 {
            SourceStatus::Failing
        } else if self.last_success.is_some() {
            SourceStatus::Ok
        } else {
            SourceStatus::Pending
        }
    }

    /// Takes the state over for the URL now configured: when the operator changed it, the old
    /// URL's moves, 410, validators and backoff no longer apply.
    pub fn adopt_configured_url(&mut self, configured: &str) {
        if self.configured_url.as_deref() == Some(configured) {
            return;
        }
        if self.configured_url.is_some() {
            *self = SourceState {
                items_seen: self.items_seen,
                entries_stored: self.entries_stored,
                last_success: self.last_success,
                ..SourceState::default()
            };
        }
        self.configured_url = Some(configured.to_string());
    }
}

/// The scheduling bounds of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The interval while the publishing rate is unknown.
    pub start_interval: Duration,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub max_backoff: Duration,
}

impl Policy {
    pub fn new(source: &Source, settings: &Settings) -> Policy {
        Policy {
            start_interval: source.interval,
            min_interval: source.min_interval,
            max_interval: source.max_interval,
            max_backoff: settings.max_backoff,
        }
    }

    fn clamp(&self, interval: Duration) -> Duration {
        interval.clamp(self.min_interval, self.max_interval.max(self.min_interval))
    }
}

/// How far back publications count for the rate, and how many are kept.
const RATE_WINDOW: Duration = Duration::from_secs(7 * 86_400);
const MAX_PUBLICATIONS: usize = 64;
/// A server asking for more than this (a bogus `Expires` a year ahead) gets this.
const CACHE_FLOOR_CAP: Duration = Duration::from_secs(86_400);
/// The longest `Retry-After` honoured; beyond it the server is more likely wrong than serious.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(7 * 86_400);
/// Successful polls land within ±10 % of the interval, so sources added together drift apart.
const INTERVAL_JITTER: f64 = 0.1;
/// Backoff waits are cut by up to 25 %: failures of one host do not come back in step.
const BACKOFF_JITTER: f64 = 0.25;
/// At start-up, overdue sources are spread over 50 ms each, a minute at most.
const STARTUP_SPREAD_PER_SOURCE: Duration = Duration::from_millis(50);
const STARTUP_SPREAD_CAP: Duration = Duration::from_secs(60);

/// The interval that matches how often a source publishes.
///
/// The estimate is the mean gap between publications over the period watched (the last week at
/// most, and not before the oldest publication or the first poll), with the starting interval
/// counted as one more gap: with no evidence it gives the starting interval, and every
/// publication or quiet day moves it towards what the source really does.
pub fn adaptive_interval(
    publications: &[DateTime<Utc>],
    observed_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Duration {
    let window_start = now - to_chrono(RATE_WINDOW);
    let recent: Vec<&DateTime<Utc>> = publications
        .iter()
        .filter(|t| **t > window_start && **t <= now)
        .collect();
    let oldest = recent.iter().copied().min().copied().unwrap_or(now);
    // A full log has dropped older publications: it speaks only for the time since its oldest.
    let since = match observed_since {
        Some(observed) if publications.len() < MAX_PUBLICATIONS => observed.min(oldest),
        _ => oldest,
    }
    .max(window_start);
    let watched = (now - since).to_std().unwrap_or_default();
    let start = policy.clamp(policy.start_interval);
    let gap = (watched + start).div_f64(recent.len() as f64 + 1.0);
    policy.clamp(gap)
}

/// Adds this poll's publication times to the log: sorted, within the rate window, bounded.
pub fn record_publications(
    log: &mut Vec<DateTime<Utc>>,
    new: impl IntoIterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    let window_start = now - to_chrono(RATE_WINDOW);
    log.extend(new.into_iter().map(|t| t.min(now)));
    log.retain(|t| *t > window_start);
    log.sort_unstable();
    if log.len() > MAX_PUBLICATIONS {
        log.drain(..log.len() - MAX_PUBLICATIONS);
    }
}

/// When a newly stored item was published, as far as the rate is concerned; `dated` says whether
/// the source gave a date. On the first poll every dated item counts at its date and undated
/// ones are skipped (they only show the feed's length); later, an item counts at its date if
/// that falls after the previous poll, else when it appeared (an undated or backdated item).
pub fn publication_time(
    published: DateTime<Utc>,
    dated: bool,
    previous_success: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match previous_success {
        None => dated.then_some(published),
        Some(previous) if dated && published >= previous => Some(published.min(now)),
        Some(_) => Some(now),
    }
}

/// The caching headers of a response, as the server wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheHeaders {
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub date: Option<String>,
    pub age: Option<String>,
}

/// How long the server and the feed ask us to wait before asking again: the longest of
/// `Cache-Control: max-age` (less `Age`), `Expires` (against the response's `Date`) and RSS
/// `<ttl>`. Capped at a day.
pub fn cache_floor(
    headers: &CacheHeaders,
    ttl_minutes: Option<u32>,
    now: DateTime<Utc>,
) -> Duration {
    let max_age = headers.cache_control.as_deref().and_then(|cc| {
        cc.split(',').find_map(|directive| {
            let (name, value) = directive.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
    });
    let age = headers
        .age
        .as_deref()
        .and_then(|a| a.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let from_max_age = max_age.map(|m| Duration::from_secs(m.saturating_sub(age)));
    // Expires only counts when Cache-Control gives no max-age (RFC 9111 §5.3).
    let from_expires = match max_age {
        Some(_) => None,
        None => headers.expires.as_deref().and_then(|expires| {
            let expires = http_date(expires)?;
            let date = headers.date.as_deref().and_then(http_date).unwrap_or(now);
            (expires - date).to_std().ok()
        }),
    };
    let from_ttl = ttl_minutes.map(|m| Duration::from_secs(u64::from(m) * 60));
    [from_max_age, from_expires, from_ttl]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or_default()
        .min(CACHE_FLOOR_CAP)
}

/// The wait a `Retry-After` value asks for: delay-seconds or an HTTP-date. `None` when it is
/// neither; a date in the past asks for no wait.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    Some((at - now).to_std().unwrap_or_default())
}

fn http_date(value: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(value.trim())
        .ok()
        .map(DateTime::<Utc>::from)
}

/// How a poll ended, as far as scheduling cares.
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    /// A 200 read and stored, or a 304.
    Success {
        /// When the new items were published (see [`record_publications`]).
        publications: Vec<DateTime<Utc>>,
        /// The feed's `<ttl>`, when the response had a body that said.
        ttl_minutes: Option<u32>,
        cache: CacheHeaders,
        /// Where permanent redirects led, when they did.
        moved_to: Option<String>,
    },
    /// 429 or 503 with a usable `Retry-After`.
    RetryAfter {
        wait: Duration,
        status: u16,
        error: String,
    },
    /// 410: the source is gone for good.
    Gone { url: String, error: String },
    /// Anything else: 404, 5xx, timeouts, bodies too large, undecodable or unparsable documents.
    Failure { status: Option<u16>, error: String },
}

/// Updates a source's schedule after a poll that ended at `now`; `jitter` is a uniform draw from
/// `[0, 1)`. Validators and counts of items are the caller's.
pub fn after_poll(
    state: &mut SourceState,
    outcome: PollOutcome,
    policy: &Policy,
    now: DateTime<Utc>,
    jitter: f64,
) {
    state.last_attempt = Some(now);
    match outcome {
        PollOutcome::Success {
            publications,
            ttl_minutes,
            cache,
            moved_to,
        } => {
            state.consecutive_failures = 0;
            state.last_error = None;
            state.retry_after = None;
            state.last_success = Some(now);
            state.observed_since.get_or_insert(now);
            if moved_to.is_some() {
                state.current_url = moved_to;
            }
            if ttl_minutes.is_some() {
                state.ttl_minutes = ttl_minutes;
            }
            record_publications(&mut state.publications, publications, now);
            let adaptive =
                adaptive_interval(&state.publications, state.observed_since, now, policy);
            let floor = cache_floor(&cache, state.ttl_minutes, now);
            state.interval_secs = adaptive.max(floor).as_secs();
            let spread = 1.0 + INTERVAL_JITTER * (2.0 * jitter - 1.0);
            let wait = policy.clamp(adaptive.mul_f64(spread)).max(floor);
            state.next_due = Some(now + to_chrono(wait));
        }
        PollOutcome::RetryAfter {
            wait,
            status,
            error,
        } => {
            state.consecutive_failures += 1;
            state.last_status = Some(status);
            state.last_error = Some(error);
            let wait = wait.clamp(policy.min_interval, RETRY_AFTER_CAP);
            let until = now + to_chrono(wait);
            state.retry_after = Some(until);
            state.next_due = Some(until);
        }
        PollOutcome::Gone { url, error } => {
            state.consecutive_failures += 1;
            state.last_status = Some(410);
            state.last_error = Some(error);
            state.disabled = Some(format!(
                "{url} answered 410 Gone on {}: change the source's url in feeds.toml to poll it again",
                now.format("%Y-%m-%d %H:%M UTC")
            ));
            state.next_due = None;
        }
        PollOutcome::Failure { status, error } => {
            state.consecutive_failures += 1;
            state.last_status = status;
            state.last_error = Some(error);
            let interval = interval_in_force(state, policy);
            let wait = backoff(
                interval,
                state.consecutive_failures,
                policy.max_backoff,
                jitter,
            );
            state.next_due = Some(now + to_chrono(wait));
        }
    }
}

/// The interval a source is on: the last one computed, or its starting interval.
pub fn interval_in_force(state: &SourceState, policy: &Policy) -> Duration {
    match state.interval_secs {
        0 => policy.clamp(policy.start_interval),
        secs => Duration::from_secs(secs),
    }
}

/// The wait after `failures` consecutive failures: the interval, doubled for each failure after
/// the first, capped at `max_backoff`, and cut by up to a quarter at random.
pub fn backoff(interval: Duration, failures: u32, max_backoff: Duration, jitter: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let wait = interval
        .checked_mul(1 << doublings)
        .unwrap_or(max_backoff)
        .min(max_backoff);
    wait.mul_f64(1.0 - BACKOFF_JITTER * jitter.clamp(0.0, 1.0))
}

/// How long start-up spreads the first polls of `sources` overdue sources over: long enough
/// that a thousand sources do not fire at once, short enough that four start at once.
pub fn startup_spread(sources: usize) -> Duration {
    STARTUP_SPREAD_PER_SOURCE
        .saturating_mul(u32::try_from(sources).unwrap_or(u32::MAX))
        .min(STARTUP_SPREAD_CAP)
}

/// When a source should first be polled after start-up: when its saved schedule says, or, if it
/// is due already, at a random point of `spread` (no later than its minimum interval).
pub fn first_due(
    state: &SourceState,
    policy: &Policy,
    spread: Duration,
    now: DateTime<Utc>,
    jitter: f64,
) -> DateTime<Utc> {
    match state.next_due {
        Some(due) if due > now => due,
        _ => {
            let spread = spread.min(policy.min_interval);
            now + to_chrono(spread.mul_f64(jitter.clamp(0.0, 1.0)))
        }
    }
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX / 2)
}

/// The time the scheduler runs on. `System` reads the wall clock; `Tokio` counts tokio's
/// (pausable) time from an anchor, so a test with a paused clock moves every date with it.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Tokio {
        wall: DateTime<Utc>,
        at: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that follows tokio's time, starting at the current wall-clock time.
    pub fn tokio() -> Clock {
        Clock::Tokio {
            wall: Utc::now(),
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { wall, at } => *wall + to_chrono(at.elapsed()),
        }
    }

    /// The tokio instant at which `time` arrives (now, if it has passed).
    pub fn instant_at(&self, time: DateTime<Utc>) -> tokio::time::Instant {
        let wait = (time - self.now()).to_std().unwrap_or_default();
        tokio::time::Instant::now() + wait
    }
}

/// The global cap on polls in flight and a cap per host.
///
/// A poll takes its host's permit before a global one, so polls queued behind a busy host never
/// hold global permits that other hosts could use.
#[derive(Debug)]
pub struct ConcurrencyLimits {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held for the duration of one poll.
#[derive(Debug)]
pub struct PollPermit {
    _host: Option<OwnedSemaphorePermit>,
    _global: Option<OwnedSemaphorePermit>,
}

impl ConcurrencyLimits {
    pub fn new(global: usize, per_host: usize) -> Arc<ConcurrencyLimits> {
        Arc::new(ConcurrencyLimits {
            global: Arc::new(Semaphore::new(global.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    pub fn from_settings(settings: &Settings) -> Arc<ConcurrencyLimits> {
        ConcurrencyLimits::new(settings.concurrency, settings.per_host)
    }

    /// Waits for a free slot for `host` and overall.
    pub async fn acquire(&self, host: &str) -> PollPermit {
        let host_limit = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                hosts
                    .entry(host.to_ascii_lowercase())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        // The semaphores are never closed, so acquiring cannot fail.
        let host = host_limit.acquire_owned().await.ok();
        let global = Arc::clone(&self.global).acquire_owned().await.ok();
        PollPermit {
            _host: host,
            _global: global,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    const NOW: &str = "2026-11-24T12:00:00Z";

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    fn policy() -> Policy {
        Policy {
            start_interval: minutes(15),
            min_interval: minutes(5),
            max_interval: minutes(360),
            max_backoff: minutes(24 * 60),
        }
    }

    fn every(count: i64, gap_minutes: i64, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        (1..=count)
            .map(|i| now - chrono::Duration::minutes(i * gap_minutes))
            .rev()
            .collect()
    }

    #[test]
    fn no_evidence_gives_the_starting_interval() {
        let now = at(NOW);
        assert_eq!(adaptive_interval(&[], None, now, &policy()), minutes(15));
        assert_eq!(
            adaptive_interval(&[], Some(now), now, &policy()),
            minutes(15)
        );
    }

    #[test]
    fn the_interval_follows_the_publishing_rate() {
        let now = at(NOW);
        // Every 30 minutes for the last ten hours.
        let interval = adaptive_interval(&every(20, 30, now), Some(now), now, &policy());
        assert!(
            interval >= minutes(29) && interval <= minutes(31),
            "{interval:?}"
        );
        // Every 10 minutes: faster, but never below the minimum.
        let busy = adaptive_interval(&every(20, 2, now), Some(now), now, &policy());
        assert_eq!(busy, minutes(5));
        // A couple of items a week: the maximum.
        let quiet = adaptive_interval(&every(2, 3 * 24 * 60, now), Some(now), now, &policy());
        assert_eq!(quiet, minutes(360));
    }

    #[test]
    fn a_full_log_speaks_for_its_own_span() {
        let now = at(NOW);
        // A source watched for days that published every two minutes lately: the log holds
        // the last 64, and they alone set the rate.
        let mut log = Vec::new();
        record_publications(&mut log, every(200, 2, now), now);
        let watched = Some(now - chrono::Duration::days(3));
        assert_eq!(adaptive_interval(&log, watched, now, &policy()), minutes(5));
    }

    #[test]
    fn silence_since_the_last_item_slows_polling_down() {
        let now = at(NOW);
        // Ten items an hour apart, but the newest three days ago.
        let old = every(10, 60, now - chrono::Duration::days(3));
        assert_eq!(adaptive_interval(&old, None, now, &policy()), minutes(360));
        // One fresh item after a week of watching says little: still slow.
        let one = vec![now - chrono::Duration::minutes(5)];
        let watched = Some(now - chrono::Duration::days(5));
        assert_eq!(
            adaptive_interval(&one, watched, now, &policy()),
            minutes(360)
        );
        // ...while a day of watching with no items lengthens the interval gradually.
        let day = adaptive_interval(&[], Some(now - chrono::Duration::hours(2)), now, &policy());
        assert!(day > minutes(15) && day < minutes(360), "{day:?}");
    }

    #[test]
    fn the_publication_log_is_sorted_windowed_and_bounded() {
        let now = at(NOW);
        let mut log = vec![now - chrono::Duration::days(10)];
        record_publications(&mut log, every(100, 1, now), now);
        assert_eq!(log.len(), MAX_PUBLICATIONS);
        assert!(log.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*log.last().unwrap(), now - chrono::Duration::minutes(1));
        // A date in the future counts as now.
        record_publications(&mut log, [now + chrono::Duration::hours(1)], now);
        assert_eq!(*log.last().unwrap(), now);
    }

    #[test]
    fn publication_times_trust_dates_only_where_they_make_sense() {
        let now = at(NOW);
        let hour_ago = now - chrono::Duration::hours(1);
        let week_ago = now - chrono::Duration::days(7);
        // First poll: dated items at their dates, undated ones say nothing.
        assert_eq!(publication_time(week_ago, true, None, now), Some(week_ago));
        assert_eq!(publication_time(now, false, None, now), None);
        // Later: a date after the previous poll stands; an undated or backdated item counts now.
        let previous = Some(now - chrono::Duration::hours(2));
        assert_eq!(
            publication_time(hour_ago, true, previous, now),
            Some(hour_ago)
        );
        assert_eq!(publication_time(week_ago, true, previous, now), Some(now));
        assert_eq!(publication_time(now, false, previous, now), Some(now));
    }

    #[test]
    fn cache_headers_and_ttl_set_a_floor() {
        let now = at(NOW);
        let headers = |cc: Option<&str>, expires: Option<&str>, age: Option<&str>| CacheHeaders {
            cache_control: cc.map(String::from),
            expires: expires.map(String::from),
            date: Some("Tue, 24 Nov 2026 12:00:00 GMT".into()),
            age: age.map(String::from),
        };
        assert_eq!(
            cache_floor(&CacheHeaders::default(), None, now),
            Duration::ZERO
        );
        assert_eq!(
            cache_floor(
                &headers(Some("public, max-age=1800"), None, None),
                None,
                now
            ),
            minutes(30)
        );
        assert_eq!(
            cache_floor(&headers(Some("max-age=1800"), None, Some("600")), None, now),
            minutes(20)
        );
        let expires = Some("Tue, 24 Nov 2026 13:00:00 GMT");
        assert_eq!(
            cache_floor(&headers(None, expires, None), None, now),
            minutes(60)
        );
        // max-age wins over Expires, and the ttl over both when longer.
        assert_eq!(
            cache_floor(&headers(Some("max-age=60"), expires, None), None, now),
            minutes(1)
        );
        assert_eq!(
            cache_floor(&headers(Some("max-age=60"), None, None), Some(90), now),
            minutes(90)
        );
        // Nonsense is ignored; a year is capped at a day.
        assert_eq!(
            cache_floor(
                &headers(Some("max-age=soon"), Some("never"), None),
                None,
                now
            ),
            Duration::ZERO
        );
        assert_eq!(
            cache_floor(&headers(Some("max-age=31536000"), None, None), None, now),
            CACHE_FLOOR_CAP
        );
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = at(NOW);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 12:30:00 GMT", now),
            Some(minutes(30))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let cap = minutes(24 * 60);
        let waits: Vec<Duration> = (1..=12)
            .map(|f| backoff(minutes(15), f, cap, 0.0))
            .collect();
        assert_eq!(waits[0], minutes(15));
        assert_eq!(waits[1], minutes(30));
        assert_eq!(waits[4], minutes(240));
        assert_eq!(waits[11], cap);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        // Jitter only shortens, by at most a quarter.
        for jitter in [0.0, 0.3, 0.999] {
            let wait = backoff(minutes(60), 3, cap, jitter);
            assert!(wait <= minutes(240) && wait > minutes(179), "{wait:?}");
        }
        assert_eq!(backoff(minutes(60), u32::MAX, cap, 0.0), cap);
    }

    fn success(publications: Vec<DateTime<Utc>>, cache: CacheHeaders) -> PollOutcome {
        PollOutcome::Success {
            publications,
            ttl_minutes: None,
            cache,
            moved_to: None,
        }
    }

    #[test]
    fn after_a_success_the_next_poll_waits_the_interval_within_jitter() {
        let now = at(NOW);
        let mut state = SourceState {
            consecutive_failures: 3,
            last_error: Some("HTTP status 500".into()),
            ..SourceState::default()
        };
        after_poll(
            &mut state,
            success(every(20, 30, now), CacheHeaders::default()),
            &policy(),
            now,
            0.5,
        );
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(state.last_error, None);
        assert_eq!(state.last_success, Some(now));
        let wait = state.next_due.unwrap() - now;
        assert!(
            wait >= chrono::Duration::minutes(29) && wait <= chrono::Duration::minutes(31),
            "{wait}"
        );
        for jitter in [0.0, 0.999] {
            let mut state = SourceState::default();
            after_poll(
                &mut state,
                success(every(20, 30, now), CacheHeaders::default()),
                &policy(),
                now,
                jitter,
            );
            let wait = (state.next_due.unwrap() - now).num_seconds();
            assert!((1550..=1950).contains(&wait), "{wait}");
        }
    }

    #[test]
    fn the_cache_floor_wins_over_a_shorter_interval() {
        let now = at(NOW);
        let mut state = SourceState::default();
        let cache = CacheHeaders {
            cache_control: Some("max-age=7200".into()),
            ..CacheHeaders::default()
        };
        after_poll(
            &mut state,
            success(every(20, 2, now), cache),
            &policy(),
            now,
            0.0,
        );
        assert_eq!(state.next_due, Some(now + chrono::Duration::hours(2)));
        assert_eq!(state.interval_secs, 7200);
        // A <ttl> seen once still counts on polls that answer 304.
        let mut state = SourceState::default();
        let with_ttl = PollOutcome::Success {
            publications: vec![],
            ttl_minutes: Some(180),
            cache: CacheHeaders::default(),
            moved_to: None,
        };
        after_poll(&mut state, with_ttl, &policy(), now, 0.0);
        after_poll(
            &mut state,
            success(vec![], CacheHeaders::default()),
            &policy(),
            now,
            0.0,
        );
        assert_eq!(state.next_due, Some(now + chrono::Duration::hours(3)));
    }

    #[test]
    fn failures_back_off_and_a_success_resets() {
        let now = at(NOW);
        let mut state = SourceState::default();
        let mut waits = Vec::new();
        for _ in 0..4 {
            let failure = PollOutcome::Failure {
                status: Some(503),
                error: "HTTP status 503".into(),
            };
            after_poll(&mut state, failure, &policy(), now, 0.0);
            waits.push((state.next_due.unwrap() - now).num_minutes());
        }
        assert_eq!(waits, [15, 30, 60, 120]);
        assert_eq!(state.consecutive_failures, 4);
        assert_eq!(state.last_status, Some(503));
        assert_eq!(state.status(), SourceStatus::Failing);
        after_poll(
            &mut state,
            success(vec![], CacheHeaders::default()),
            &policy(),
            now,
            0.0,
        );
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(state.status(), SourceStatus::Ok);
    }

    #[test]
    fn retry_after_sets_the_next_poll_for_that_source() {
        let now = at(NOW);
        let mut state = SourceState::default();
        let limited = |secs| PollOutcome::RetryAfter {
            wait: Duration::from_secs(secs),
            status: 429,
            error: "HTTP status 429".into(),
        };
        after_poll(&mut state, limited(3600), &policy(), now, 0.9);
        assert_eq!(state.next_due, Some(now + chrono::Duration::hours(1)));
        assert_eq!(state.retry_after, state.next_due);
        assert_eq!(state.consecutive_failures, 1);
        // Too short a wait is stretched to the minimum interval, too long a one is capped.
        after_poll(&mut state, limited(1), &policy(), now, 0.0);
        assert_eq!(state.next_due, Some(now + chrono::Duration::minutes(5)));
        after_poll(&mut state, limited(100 * 86_400), &policy(), now, 0.0);
        assert_eq!(state.next_due, Some(now + chrono::Duration::days(7)));
    }

    #[test]
    fn gone_disables_until_the_url_changes() {
        let now = at(NOW);
        let mut state = SourceState::default();
        state.adopt_configured_url("https://a.ru/rss");
        state.etag = Some("\"v1\"".into());
        state.entries_stored = 7;
        let gone = PollOutcome::Gone {
            url: "https://a.ru/rss".into(),
            error: "HTTP status 410".into(),
        };
        after_poll(&mut state, gone, &policy(), now, 0.0);
        assert_eq!(state.status(), SourceStatus::Disabled);
        assert_eq!(state.next_due, None);
        assert!(state.disabled.as_deref().unwrap().contains("410 Gone"));
        state.adopt_configured_url("https://a.ru/rss");
        assert_eq!(state.status(), SourceStatus::Disabled);
        state.adopt_configured_url("https://a.ru/new-rss");
        assert_eq!(state.status(), SourceStatus::Pending);
        assert_eq!(state.etag, None);
        assert_eq!(state.entries_stored, 7);
    }

    #[test]
    fn a_permanent_move_is_kept() {
        let now = at(NOW);
        let mut state = SourceState::default();
        let moved = PollOutcome::Success {
            publications: vec![],
            ttl_minutes: None,
            cache: CacheHeaders::default(),
            moved_to: Some("https://b.ru/rss".into()),
        };
        after_poll(&mut state, moved, &policy(), now, 0.0);
        after_poll(
            &mut state,
            success(vec![], CacheHeaders::default()),
            &policy(),
            now,
            0.0,
        );
        assert_eq!(state.current_url.as_deref(), Some("https://b.ru/rss"));
    }

    #[test]
    fn start_up_respects_saved_schedules_and_spreads_the_rest() {
        let now = at(NOW);
        let later = now + chrono::Duration::minutes(40);
        let saved = SourceState {
            next_due: Some(later),
            ..SourceState::default()
        };
        let minute = Duration::from_secs(60);
        assert_eq!(first_due(&saved, &policy(), minute, now, 0.5), later);
        let overdue = SourceState {
            next_due: Some(now - chrono::Duration::hours(1)),
            ..SourceState::default()
        };
        assert_eq!(first_due(&overdue, &policy(), minute, now, 0.0), now);
        let spread = first_due(&SourceState::default(), &policy(), minute, now, 0.5) - now;
        assert_eq!(spread, chrono::Duration::seconds(30));
        let last = first_due(&SourceState::default(), &policy(), minute, now, 0.9999) - now;
        assert!(last <= chrono::Duration::seconds(60));
        // The spread grows with the number of sources, up to a minute.
        assert_eq!(startup_spread(4), Duration::from_millis(200));
        assert_eq!(startup_spread(1000), Duration::from_secs(50));
        assert_eq!(startup_spread(100_000), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_with_paused_time() {
        let clock = Clock::tokio();
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - start, chrono::Duration::hours(1));
        let due = clock.now() + chrono::Duration::minutes(5);
        assert_eq!(
            clock.instant_at(due) - tokio::time::Instant::now(),
            Duration::from_secs(300)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permits_are_capped_per_host_and_overall() {
        let limits = ConcurrencyLimits::new(3, 2);
        let a1 = limits.acquire("a.ru").await;
        let _a2 = limits.acquire("A.ru").await;
        let third_a = tokio::time::timeout(Duration::from_secs(1), limits.acquire("a.ru")).await;
        assert!(third_a.is_err(), "a third poll of one host must wait");
        let _b1 = limits.acquire("b.ru").await;
        let over_global =
            tokio::time::timeout(Duration::from_secs(1), limits.acquire("c.ru")).await;
        assert!(over_global.is_err(), "a fourth poll overall must wait");
        drop(a1);
        let freed = tokio::time::timeout(Duration::from_secs(1), limits.acquire("a.ru")).await;
        assert!(freed.is_ok());
    }
}
