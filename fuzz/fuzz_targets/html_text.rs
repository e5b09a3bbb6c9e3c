//! HTML from strangers: plain text and sanitized HTML. The sanitized HTML must itself be stable
//! text-wise and never hold a script.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vestnik::normalize::text::html_to_text(html);
    let base = url::Url::parse("https://example.org/news/1").ok();
    let clean = vestnik::normalize::text::sanitize_html(html, base.as_ref());
    let lower = clean.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script survived: {clean:?}");
    assert!(!lower.contains("javascript:"), "javascript: survived: {clean:?}");
    // Sanitizing is idempotent in effect: nothing new becomes dangerous on a second pass.
    let again = vestnik::normalize::text::sanitize_html(&clean, base.as_ref());
    assert!(!again.to_ascii_lowercase().contains("<script"));
});
