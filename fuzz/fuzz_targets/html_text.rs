//! HTML from strangers: plain text and sanitized HTML. The sanitized HTML, read back by an HTML
//! parser as a browser would, must hold no active element, no event handler and no script URL,
//! and sanitizing it again must keep it so.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let _ = vestnik::normalize::text::html_to_text(html);
    let base = url::Url::parse("https://example.org/news/1").ok();
    let clean = vestnik::normalize::text::sanitize_html(html, base.as_ref());
    assert_inert(&clean);
    let again = vestnik::normalize::text::sanitize_html(&clean, base.as_ref());
    assert_inert(&again);
});

fn assert_inert(html: &str) {
    let fragment = scraper::Html::parse_fragment(html);
    for node in fragment.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name();
        assert!(
            !matches!(
                name,
                "script" | "iframe" | "frame" | "object" | "embed" | "applet" | "base" | "form"
                    | "meta" | "link" | "style" | "svg" | "math"
            ),
            "<{name}> survived: {html:?}"
        );
        for (attribute, value) in element.attrs() {
            assert!(
                !attribute.to_ascii_lowercase().starts_with("on"),
                "{attribute} survived: {html:?}"
            );
            // What a browser would resolve: control characters and whitespace are ignored.
            let url: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            for scheme in ["javascript:", "vbscript:", "livescript:", "data:text/html"] {
                assert!(
                    !url.starts_with(scheme),
                    "{attribute}={value:?} survived: {html:?}"
                );
            }
        }
    }
}
