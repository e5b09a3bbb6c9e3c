//! Bytes as a server sends them: charset decision, then feed parsing, then normalizing each item.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the HTTP charset the "server" declared.
    let (charset, body) = match data.split_first() {
        Some((0, rest)) => (None, rest),
        Some((1, rest)) => (Some("windows-1251"), rest),
        Some((2, rest)) => (Some("koi8-r"), rest),
        Some((3, rest)) => (Some("utf-8"), rest),
        Some((_, _)) => (None, data),
        None => (None, data),
    };
    let decoded = vestnik::fetch::decode(body, charset);
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    let tz = chrono_tz::Europe::Moscow;
    let dates: vestnik::parse::DateParser =
        Arc::new(move |text| vestnik::normalize::dates::parse_date(text, tz, now));
    let base = url::Url::parse("https://example.org/rss/").ok();
    if let Ok(feed) = vestnik::parse::parse_feed(&decoded.text, base.as_ref(), dates) {
        let context = vestnik::normalize::SourceContext::new("fuzz", base.as_ref(), &[]);
        for item in &feed.items {
            let _ = vestnik::normalize::normalize(item, &context, now);
        }
    }
});
