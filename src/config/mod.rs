//! `feeds.toml`: what operators write, parsed and validated into a [`Config`].
//!
//! Every error carries the place it points at, printed as `feeds.toml:LINE:COL: message`, so an
//! operator can jump straight to it. Semantic checks (unique ids, known sources, valid URLs and
//! time zones) run after deserializing and report all problems at once rather than the first.

mod duration;

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

pub use duration::ConfigDuration;

/// The topic that always exists: every story, deduplicated.
pub const ALL_TOPIC: &str = "all";

/// Bounds of the adaptive poll interval when `feeds.toml` gives none: busy sources are polled
/// every few minutes, a silent one still four times a day.
const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// A validated configuration; everything relative is already resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from, as given (used in error messages).
    pub path: PathBuf,
    pub settings: Settings,
    pub sources: Vec<Source>,
    pub topics: Vec<Topic>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The sled store; a relative `data_dir` is taken relative to the config file's folder.
    pub data_dir: PathBuf,
    /// Absolute self links in output feeds are built on this, without a trailing slash.
    pub base_url: String,
    pub interval: Duration,
    pub max_items: usize,
    pub retention: Duration,
    pub timezone: Tz,
    /// How many sources are fetched at once, over all hosts.
    pub concurrency: usize,
    /// How many sources of one host are fetched at once.
    pub per_host: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// The largest response body accepted, counted after decompression.
    pub max_body_bytes: u64,
    /// Bounds of the adaptive poll interval, unless a source sets its own.
    pub min_interval: Duration,
    pub max_interval: Duration,
    /// The longest wait after consecutive failures.
    pub max_backoff: Duration,
    /// A WebSub hub: named in every feed and told when a feed changes.
    pub hub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Feed,
    Html,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: String,
    pub url: Url,
    pub kind: SourceKind,
    pub title: Option<String>,
    pub region: Option<String>,
    /// The interval until the source's publishing rate is known.
    pub interval: Duration,
    /// Bounds of the adaptive interval (settings' unless the source sets them).
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub connect_timeout: Duration,
    /// A whole fetch, redirects and body included.
    pub timeout: Duration,
    pub priority: i32,
    pub full_text: bool,
    pub timezone: Tz,
    pub strip: Vec<String>,
    pub html: Option<HtmlSelectors>,
}

/// CSS selectors for a news list page without a feed (`kind = "html"`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HtmlSelectors {
    pub item: String,
    pub title: String,
    pub link: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub title: String,
    pub query: String,
    /// Where the first character of the query text stands in the file, so that a query parser
    /// can report its errors at the right line and column.
    pub query_location: Location,
    /// Only stories from these sources, when not empty.
    pub sources: Vec<String>,
    /// Only stories from sources of these regions, when not empty.
    pub regions: Vec<String>,
}

/// A 1-based line and column (in characters) in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One problem in the config file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub location: Location,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.location.line,
            self.location.column,
            self.message
        )
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", ErrorList(.0))]
    Invalid(Vec<ConfigError>),
}

impl LoadError {
    /// Each problem on its own, for printing one per line.
    pub fn errors(&self) -> Vec<String> {
        match self {
            LoadError::Io { .. } => vec![self.to_string()],
            LoadError::Invalid(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }
}

struct ErrorList<'a>(&'a [ConfigError]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text).map_err(LoadError::Invalid)
    }

    /// Parses config text; `path` names it in errors and anchors a relative `data_dir`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
        let file = FileText { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| vec![file.toml_error(&e)])?;
        Validator::new(file).validate(raw)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    pub fn topic(&self, id: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The ids of every output feed: `all` first, then the configured topics in file order.
    pub fn topic_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(ALL_TOPIC).chain(self.topics.iter().map(|t| t.id.as_str()))
    }
}

/// The file being parsed, for turning byte offsets into lines and columns.
#[derive(Clone, Copy)]
struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileText<'_> {
    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before
            .get(line_start..)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Location { line, column }
    }

    fn error_at(&self, span: &Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            location: self.location(span.start),
            message: message.into(),
        }
    }

    fn toml_error(&self, error: &toml::de::Error) -> ConfigError {
        let span = error.span().unwrap_or(0..0);
        // toml's message can span several lines for some errors; one line reads best here.
        let message = error.message().trim().replace('\n', "; ");
        self.error_at(&span, message)
    }

    /// Where the text inside a string literal starts, skipping its opening quotes.
    fn string_content_location(&self, span: &Range<usize>) -> Location {
        let literal = self.text.get(span.clone()).unwrap_or("");
        let quote_len = ["'''", "\"\"\"", "'", "\""]
            .iter()
            .find(|q| literal.starts_with(*q))
            .map(|q| q.len())
            .unwrap_or(0);
        let mut start = span.start + quote_len;
        // A multi-line literal drops the newline right after its opening quotes.
        if quote_len == 3 && self.text.get(start..start + 1) == Some("\n") {
            start += 1;
        }
        self.location(start)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "topic")]
    topics: Vec<RawTopic>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    listen: Option<Spanned<String>>,
    data_dir: Option<String>,
    base_url: Option<Spanned<String>>,
    interval: Option<ConfigDuration>,
    max_items: Option<Spanned<i64>>,
    retention: Option<ConfigDuration>,
    timezone: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    connect_timeout: Option<Spanned<ConfigDuration>>,
    timeout: Option<Spanned<ConfigDuration>>,
    max_body_size: Option<Spanned<i64>>,
    min_interval: Option<Spanned<ConfigDuration>>,
    max_interval: Option<Spanned<ConfigDuration>>,
    max_backoff: Option<Spanned<ConfigDuration>>,
    hub: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Spanned<String>,
    url: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<SourceKind>>,
    title: Option<String>,
    region: Option<String>,
    interval: Option<ConfigDuration>,
    min_interval: Option<Spanned<ConfigDuration>>,
    max_interval: Option<Spanned<ConfigDuration>>,
    connect_timeout: Option<Spanned<ConfigDuration>>,
    timeout: Option<Spanned<ConfigDuration>>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    full_text: bool,
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    strip: Vec<String>,
    html: Option<Spanned<HtmlSelectors>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    id: Spanned<String>,
    title: String,
    query: Spanned<String>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    regions: Vec<String>,
}

struct Validator<'a> {
    file: FileText<'a>,
    errors: Vec<ConfigError>,
}

impl<'a> Validator<'a> {
    fn new(file: FileText<'a>) -> Self {
        Validator {
            file,
            errors: Vec::new(),
        }
    }

    fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.errors.push(self.file.error_at(span, message));
    }

    fn validate(mut self, raw: RawConfig) -> Result<Config, Vec<ConfigError>> {
        let settings = self.settings(raw.settings);
        let mut source_ids = HashSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for raw_source in raw.sources {
            if let Some(source) = self.source(raw_source, &settings, &mut source_ids) {
                sources.push(source);
            }
        }
        let mut topic_ids = HashSet::new();
        let mut topics = Vec::with_capacity(raw.topics.len());
        for raw_topic in raw.topics {
            if let Some(topic) = self.topic(raw_topic, &source_ids, &mut topic_ids) {
                topics.push(topic);
            }
        }
        if self.errors.is_empty() {
            Ok(Config {
                path: self.file.path.to_path_buf(),
                settings,
                sources,
                topics,
            })
        } else {
            self.errors
                .sort_by_key(|e| (e.location.line, e.location.column));
            Err(self.errors)
        }
    }

    fn settings(&mut self, raw: RawSettings) -> Settings {
        let (min_interval, max_interval) = self.interval_bounds(
            raw.min_interval.as_ref(),
            raw.max_interval.as_ref(),
            (DEFAULT_MIN_INTERVAL, DEFAULT_MAX_INTERVAL),
        );
        let listen = match raw.listen {
            Some(listen) => listen.get_ref().parse().unwrap_or_else(|_| {
                self.error(
                    &listen.span(),
                    format!(
                        "expected an address and port such as \"127.0.0.1:8080\", found \"{}\"",
                        listen.get_ref()
                    ),
                );
                default_listen()
            }),
            None => default_listen(),
        };
        let base_url = match raw.base_url {
            Some(base) => match parse_http_url(base.get_ref()) {
                Ok(url) => url.as_str().trim_end_matches('/').to_string(),
                Err(message) => {
                    self.error(&base.span(), message);
                    String::new()
                }
            },
            None => format!("http://{listen}"),
        };
        let config_dir = self
            .file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or("./data"));
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            config_dir.join(data_dir)
        };
        let hub = raw.hub.and_then(|hub| match parse_http_url(hub.get_ref()) {
            Ok(url) => Some(url.to_string()),
            Err(message) => {
                self.error(&hub.span(), message);
                None
            }
        });
        let timezone = raw
            .timezone
            .map(|tz| self.timezone(&tz))
            .unwrap_or(chrono_tz::Europe::Moscow);
        let max_items = self.positive(raw.max_items, 100, "max_items");
        let concurrency = self.positive(raw.concurrency, 16, "concurrency");
        let per_host = self.positive(raw.per_host, 2, "per_host");
        let max_body_bytes = self.positive(raw.max_body_size, 20 * 1024 * 1024, "max_body_size");
        Settings {
            listen,
            data_dir,
            base_url,
            interval: raw
                .interval
                .unwrap_or(ConfigDuration::secs(15 * 60))
                .as_duration(),
            max_items: max_items as usize,
            retention: raw
                .retention
                .unwrap_or(ConfigDuration::secs(180 * 86_400))
                .as_duration(),
            timezone,
            concurrency: concurrency as usize,
            per_host: per_host as usize,
            connect_timeout: self.nonzero(raw.connect_timeout.as_ref(), 10, "connect_timeout"),
            timeout: self.nonzero(raw.timeout.as_ref(), 30, "timeout"),
            max_body_bytes: max_body_bytes as u64,
            min_interval,
            max_interval,
            max_backoff: self.nonzero(raw.max_backoff.as_ref(), 86_400, "max_backoff"),
            hub,
        }
    }

    /// A duration that must not be zero (a zero timeout or backoff would make no sense).
    fn nonzero(
        &mut self,
        value: Option<&Spanned<ConfigDuration>>,
        default_secs: u64,
        name: &str,
    ) -> Duration {
        match value {
            Some(v) if v.get_ref().as_duration().is_zero() => {
                self.error(
                    &v.span(),
                    format!("expected {name} to be at least \"1s\", found \"0s\""),
                );
                Duration::from_secs(default_secs)
            }
            Some(v) => v.get_ref().as_duration(),
            None => Duration::from_secs(default_secs),
        }
    }

    /// `min_interval` and `max_interval`, each defaulting to `defaults`; min must not exceed max.
    fn interval_bounds(
        &mut self,
        min: Option<&Spanned<ConfigDuration>>,
        max: Option<&Spanned<ConfigDuration>>,
        defaults: (Duration, Duration),
    ) -> (Duration, Duration) {
        let min_value = min.map_or(defaults.0, |m| {
            self.nonzero(Some(m), defaults.0.as_secs(), "min_interval")
        });
        let max_value = max.map_or(defaults.1, |m| {
            self.nonzero(Some(m), defaults.1.as_secs(), "max_interval")
        });
        if min_value > max_value {
            if let Some(span) = max.or(min).map(Spanned::span) {
                self.error(
                    &span,
                    format!(
                        "expected min_interval ({}) to be no longer than max_interval ({})",
                        ConfigDuration(min_value),
                        ConfigDuration(max_value)
                    ),
                );
            }
            return defaults;
        }
        (min_value, max_value)
    }

    fn positive(&mut self, value: Option<Spanned<i64>>, default: i64, name: &str) -> i64 {
        match value {
            Some(v) if *v.get_ref() > 0 => *v.get_ref(),
            Some(v) => {
                self.error(
                    &v.span(),
                    format!(
                        "expected {name} to be a positive number, found {}",
                        v.get_ref()
                    ),
                );
                default
            }
            None => default,
        }
    }

    fn timezone(&mut self, tz: &Spanned<String>) -> Tz {
        tz.get_ref().parse().unwrap_or_else(|_| {
            self.error(
                &tz.span(),
                format!(
                    "expected an IANA time zone such as \"Europe/Moscow\", found \"{}\"",
                    tz.get_ref()
                ),
            );
            chrono_tz::UTC
        })
    }

    fn id(&mut self, id: &Spanned<String>, what: &str, seen: &mut HashSet<String>) -> bool {
        let value = id.get_ref();
        if !is_valid_id(value) {
            self.error(
                &id.span(),
                format!("expected a {what} id of lower-case letters, digits, '_' and '-', found \"{value}\""),
            );
            return false;
        }
        if !seen.insert(value.clone()) {
            self.error(&id.span(), format!("duplicate {what} id \"{value}\""));
            return false;
        }
        true
    }

    fn source(
        &mut self,
        raw: RawSource,
        settings: &Settings,
        seen: &mut HashSet<String>,
    ) -> Option<Source> {
        let id_ok = self.id(&raw.id, "source", seen);
        let url = match parse_http_url(raw.url.get_ref()) {
            Ok(url) => Some(url),
            Err(message) => {
                self.error(&raw.url.span(), message);
                None
            }
        };
        let kind = raw
            .kind
            .as_ref()
            .map(|k| *k.get_ref())
            .unwrap_or(SourceKind::Feed);
        match (kind, &raw.html) {
            (SourceKind::Html, None) => {
                let span = raw.kind.as_ref().map(|k| k.span()).unwrap_or(raw.id.span());
                self.error(
                    &span,
                    "expected a [source.html] table with item, title and link selectors for kind = \"html\"",
                );
            }
            (SourceKind::Feed, Some(html)) => self.error(
                &html.span(),
                "[source.html] selectors are only used with kind = \"html\"",
            ),
            _ => {}
        }
        if let Some(html) = &raw.html {
            let selectors = html.get_ref();
            let named = [
                ("item", Some(&selectors.item)),
                ("title", Some(&selectors.title)),
                ("link", Some(&selectors.link)),
                ("date", selectors.date.as_ref()),
                ("summary", selectors.summary.as_ref()),
            ];
            for (name, selector) in named {
                if let Some(selector) = selector {
                    if let Err(e) = scraper::Selector::parse(selector) {
                        self.error(
                            &html.span(),
                            format!("expected a CSS selector for html.{name}, found \"{selector}\": {e}"),
                        );
                    }
                }
            }
        }
        let timezone = raw
            .timezone
            .map(|tz| self.timezone(&tz))
            .unwrap_or(settings.timezone);
        let (min_interval, max_interval) = self.interval_bounds(
            raw.min_interval.as_ref(),
            raw.max_interval.as_ref(),
            (settings.min_interval, settings.max_interval),
        );
        let connect_timeout = raw
            .connect_timeout
            .as_ref()
            .map_or(settings.connect_timeout, |t| {
                self.nonzero(
                    Some(t),
                    settings.connect_timeout.as_secs(),
                    "connect_timeout",
                )
            });
        let timeout = raw.timeout.as_ref().map_or(settings.timeout, |t| {
            self.nonzero(Some(t), settings.timeout.as_secs(), "timeout")
        });
        if !id_ok {
            return None;
        }
        Some(Source {
            id: raw.id.into_inner(),
            url: url?,
            kind,
            title: raw.title,
            region: raw.region,
            interval: raw
                .interval
                .map(ConfigDuration::as_duration)
                .unwrap_or(settings.interval),
            min_interval,
            max_interval,
            connect_timeout,
            timeout,
            priority: raw.priority,
            full_text: raw.full_text,
            timezone,
            strip: raw.strip,
            html: raw.html.map(Spanned::into_inner),
        })
    }

    fn topic(
        &mut self,
        raw: RawTopic,
        source_ids: &HashSet<String>,
        seen: &mut HashSet<String>,
    ) -> Option<Topic> {
        let mut ok = true;
        if raw.id.get_ref() == ALL_TOPIC {
            self.error(
                &raw.id.span(),
                "topic id \"all\" is reserved: the topic of every story always exists",
            );
            ok = false;
        } else {
            ok &= self.id(&raw.id, "topic", seen);
        }
        if raw.query.get_ref().trim().is_empty() {
            self.error(&raw.query.span(), "expected a query, found an empty string");
            ok = false;
        }
        for source in &raw.sources {
            if !source_ids.contains(source.get_ref()) {
                self.error(
                    &source.span(),
                    format!(
                        "unknown source \"{}\": expected the id of a [[source]]",
                        source.get_ref()
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let query_location = self.file.string_content_location(&raw.query.span());
        Some(Topic {
            id: raw.id.into_inner(),
            title: raw.title,
            query: raw.query.into_inner(),
            query_location,
            sources: raw.sources.into_iter().map(Spanned::into_inner).collect(),
            regions: raw.regions,
        })
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn parse_http_url(text: &str) -> Result<Url, String> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(_) => Err(format!("expected an http or https URL, found \"{text}\"")),
        Err(e) => Err(format!(
            "expected an http or https URL, found \"{text}\" ({e})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
        Config::parse(Path::new("feeds.toml"), text)
    }

    fn first_error(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error"),
            Err(errors) => errors[0].to_string(),
        }
    }

    const GOOD: &str = r#"
[settings]
listen = "127.0.0.1:9090"
data_dir = "/var/lib/vestnik"
interval = "10m"

[[source]]
id = "lenobl"
url = "https://lenobl.ru/rss/"
priority = 10

[[source]]
id = "vremya"
url = "https://vremya-kingisepp.ru/news/"
kind = "html"
timezone = "Europe/Minsk"
[source.html]
item = ".news-item"
title = "a.title"
link = "a.title"

[[topic]]
id = "ngo"
title = "НКО"
query = 'НКО OR "некоммерческая организация"'
sources = ["lenobl"]
"#;

    #[test]
    fn reads_a_full_config() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.settings.listen.port(), 9090);
        assert_eq!(config.settings.base_url, "http://127.0.0.1:9090");
        assert_eq!(config.settings.data_dir, PathBuf::from("/var/lib/vestnik"));
        assert_eq!(config.sources.len(), 2);
        assert_eq!(config.sources[0].interval, Duration::from_secs(600));
        assert_eq!(config.sources[1].kind, SourceKind::Html);
        assert_eq!(config.sources[1].timezone, chrono_tz::Europe::Minsk);
        assert_eq!(config.sources[0].timezone, chrono_tz::Europe::Moscow);
        let topic = &config.topics[0];
        assert_eq!(
            topic.query_location,
            Location {
                line: 25,
                column: 10
            }
        );
        assert_eq!(config.topic_ids().collect::<Vec<_>>(), ["all", "ngo"]);
    }

    #[test]
    fn a_bad_duration_points_at_its_value() {
        let err = first_error("[settings]\ninterval = \"15 minutes\"\n");
        assert!(err.starts_with("feeds.toml:2:12: "), "{err}");
        assert!(err.contains("expected a duration"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_rejected_where_it_stands() {
        let err =
            first_error("[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\nintervall = \"5m\"\n");
        assert!(err.starts_with("feeds.toml:4:1: "), "{err}");
        assert!(err.contains("intervall"), "{err}");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = first_error("[settings]\nlisten = \"127.0.0.1:8080\nx = 1\n");
        assert!(err.starts_with("feeds.toml:2:"), "{err}");
    }

    #[test]
    fn semantic_errors_are_all_reported_in_file_order() {
        let text = r#"
[[source]]
id = "Bad Id"
url = "ftp://example.org/"

[[source]]
id = "ok"
url = "https://example.org/"
timezone = "Mars/Olympus"

[[topic]]
id = "all"
title = "x"
query = "x"

[[topic]]
id = "t"
title = "t"
query = "x"
sources = ["missing"]
"#;
        let errors: Vec<String> = parse(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(
            errors[0].starts_with("feeds.toml:3:6: expected a source id"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("feeds.toml:4:7: expected an http or https URL"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("feeds.toml:9:12: expected an IANA time zone"),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].starts_with("feeds.toml:12:6: topic id \"all\" is reserved"),
            "{}",
            errors[3]
        );
        assert!(
            errors[4].starts_with("feeds.toml:20:12: unknown source \"missing\""),
            "{}",
            errors[4]
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\n[[source]]\nid = \"a\"\nurl = \"https://b.ru/\"\n";
        let err = first_error(text);
        assert_eq!(err, "feeds.toml:5:6: duplicate source id \"a\"");
    }

    #[test]
    fn html_sources_need_selectors() {
        let err = first_error("[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\nkind = \"html\"\n");
        assert!(err.contains("[source.html]"), "{err}");
        let err = first_error(
            "[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\nkind = \"html\"\n[source.html]\nitem = \"..bad\"\ntitle = \"a\"\nlink = \"a\"\n",
        );
        assert!(err.contains("html.item"), "{err}");
    }

    #[test]
    fn polling_limits_have_defaults_and_per_source_overrides() {
        let config = parse(GOOD).unwrap();
        let settings = &config.settings;
        assert_eq!(settings.per_host, 2);
        assert_eq!(settings.min_interval, Duration::from_secs(300));
        assert_eq!(settings.max_interval, Duration::from_secs(6 * 3600));
        assert_eq!(settings.max_backoff, Duration::from_secs(86_400));
        assert_eq!(config.sources[0].timeout, Duration::from_secs(30));
        let text = r#"
[settings]
per_host = 4
min_interval = "10m"
max_interval = "12h"
max_backoff = "6h"
timeout = "20s"

[[source]]
id = "slow"
url = "https://slow.ru/rss"
timeout = "2m"
connect_timeout = "30s"
min_interval = "1h"
max_interval = "1d"

[[source]]
id = "plain"
url = "https://plain.ru/rss"
"#;
        let config = parse(text).unwrap();
        assert_eq!(config.settings.per_host, 4);
        assert_eq!(config.settings.max_backoff, Duration::from_secs(6 * 3600));
        let slow = &config.sources[0];
        assert_eq!(slow.timeout, Duration::from_secs(120));
        assert_eq!(slow.connect_timeout, Duration::from_secs(30));
        assert_eq!(slow.min_interval, Duration::from_secs(3600));
        assert_eq!(slow.max_interval, Duration::from_secs(86_400));
        let plain = &config.sources[1];
        assert_eq!(plain.timeout, Duration::from_secs(20));
        assert_eq!(plain.connect_timeout, Duration::from_secs(10));
        assert_eq!(plain.min_interval, Duration::from_secs(600));
        assert_eq!(plain.max_interval, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn bad_polling_limits_point_at_their_values() {
        let err = first_error(
            "[settings]\nmin_interval = \"7h\"\n\n[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\n",
        );
        assert_eq!(
            err,
            "feeds.toml:2:16: expected min_interval (7h) to be no longer than max_interval (6h)"
        );
        let err = first_error(
            "[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\nmin_interval = \"1h\"\nmax_interval = \"30m\"\n",
        );
        assert!(
            err.starts_with("feeds.toml:5:16: expected min_interval (1h)"),
            "{err}"
        );
        let err =
            first_error("[[source]]\nid = \"a\"\nurl = \"https://a.ru/\"\ntimeout = \"0s\"\n");
        assert_eq!(
            err,
            "feeds.toml:4:11: expected timeout to be at least \"1s\", found \"0s\""
        );
        let err = first_error("[settings]\nper_host = 0\n");
        assert!(
            err.starts_with("feeds.toml:2:12: expected per_host to be a positive"),
            "{err}"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let err = first_error(
            "[[topic]]\nid = \"t\"\ntitle = \"Тема\" \nquery = \"x\"\nsources = [\"нет\"]\n",
        );
        assert!(err.starts_with("feeds.toml:5:12: "), "{err}");
    }
}
