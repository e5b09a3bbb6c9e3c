//! When each source is due, and what Vestnik remembers about polling it.
//!
//! The walking skeleton polls every source at start and then at its configured interval; a failed
//! poll is retried after the interval too. Adaptive intervals, backoff and `Retry-After` build on
//! [`SourceState`] and [`next_due`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What Vestnik knows about one source between polls; persisted by the store.
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
    /// The URL the last fetch ended at, after redirects, when it differs from the configured one.
    pub current_url: Option<String>,
    /// Items in the source's last successful response.
    pub items_seen: u64,
    /// Entries this source has added to the store, over its lifetime.
    pub entries_stored: u64,
    pub interval_secs: u64,
}

/// How a poll ended, as far as scheduling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Success,
    Failure,
}

/// When a source is due again after a poll that ended at `now`.
pub fn next_due(now: DateTime<Utc>, interval: Duration, _outcome: PollOutcome) -> DateTime<Utc> {
    now + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX / 2)
}

/// Whether a source should be polled at `now`; a source never polled is due at once.
pub fn is_due(state: Option<&SourceState>, now: DateTime<Utc>) -> bool {
    state.and_then(|s| s.next_due).is_none_or(|due| due <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_source_is_due_at_once() {
        assert!(is_due(None, Utc::now()));
        assert!(is_due(Some(&SourceState::default()), Utc::now()));
    }

    #[test]
    fn the_next_poll_waits_the_interval() {
        let now = Utc::now();
        let due = next_due(now, Duration::from_secs(600), PollOutcome::Success);
        assert_eq!(due - now, chrono::Duration::seconds(600));
        let state = SourceState {
            next_due: Some(due),
            ..SourceState::default()
        };
        assert!(!is_due(Some(&state), now));
        assert!(is_due(Some(&state), due));
    }
}
