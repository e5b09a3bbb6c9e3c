//! Durations as operators write them in `feeds.toml`: `30s`, `15m`, `6h`, `180d`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written as a whole number followed by one unit letter.
///
/// Kept as its own type so that a bad value is rejected while deserializing, which lets the
/// TOML error carry the span of the offending string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    pub const fn secs(secs: u64) -> Self {
        ConfigDuration(Duration::from_secs(secs))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// Parses `30s`, `15m`, `6h`, `180d`; the error says what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let expected = || {
            format!("expected a duration such as \"30s\", \"15m\", \"6h\" or \"180d\", found \"{text}\"")
        };
        let unit_at = text
            .char_indices()
            .last()
            .map(|(i, _)| i)
            .ok_or_else(expected)?;
        let (number, unit) = text.split_at(unit_at);
        let amount: u64 = number.parse().map_err(|_| expected())?;
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(expected()),
        };
        let secs = amount
            .checked_mul(unit_secs)
            .ok_or_else(|| format!("duration \"{text}\" is too long"))?;
        Ok(ConfigDuration(Duration::from_secs(secs)))
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs != 0 && secs.is_multiple_of(86_400) {
            write!(f, "{}d", secs / 86_400)
        } else if secs != 0 && secs.is_multiple_of(3600) {
            write!(f, "{}h", secs / 3600)
        } else if secs != 0 && secs.is_multiple_of(60) {
            write!(f, "{}m", secs / 60)
        } else {
            write!(f, "{secs}s")
        }
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"15m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                ConfigDuration::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(ConfigDuration::parse("30s").unwrap().0.as_secs(), 30);
        assert_eq!(ConfigDuration::parse("15m").unwrap().0.as_secs(), 900);
        assert_eq!(ConfigDuration::parse("6h").unwrap().0.as_secs(), 21_600);
        assert_eq!(
            ConfigDuration::parse("180d").unwrap().0.as_secs(),
            15_552_000
        );
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "15",
            "m",
            "15 m",
            "15min",
            "-5m",
            "1.5h",
            "15м",
            "99999999999999999999d",
        ] {
            assert!(
                ConfigDuration::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(ConfigDuration::secs(900).to_string(), "15m");
        assert_eq!(ConfigDuration::secs(90).to_string(), "90s");
        assert_eq!(ConfigDuration::secs(86_400 * 180).to_string(), "180d");
    }
}
