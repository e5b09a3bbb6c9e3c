//! HTML to clean text and safe HTML.
//!
//! Text keeps paragraphs (one per line pair) because clustering and topics read sentences, and
//! readers see it in plain-text previews. Every string leaving this module is NFC and holds only
//! characters XML 1.0 allows: the feed writers do not filter them, and one stray `\x0B` makes
//! strict XML parsers reject a whole output feed.

use ammonia::{Builder, UrlRelative};
use scraper::Html;
use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
use url::Url;

use super::blocks;
use crate::parse::repair::is_xml_char;

/// Plain text of an HTML fragment: entities decoded, paragraphs separated by a blank line,
/// whitespace inside a paragraph folded to single spaces.
pub fn html_to_text(html: &str) -> String {
    text_of(&paragraphs(html))
}

/// Plain text from its paragraphs, a blank line between two: the shape of [`super::Entry::text`].
pub fn text_of(paragraphs: &[String]) -> String {
    paragraphs.join("\n\n")
}

/// The paragraphs of an HTML fragment, each folded to one line.
pub fn paragraphs(html: &str) -> Vec<String> {
    blocks::blocks(&Html::parse_fragment(html))
        .into_iter()
        .map(|block| block.text)
        .filter(|text| !text.is_empty())
        .collect()
}

/// One line of text: NFC, no characters XML forbids or control characters, whitespace folded.
pub fn clean_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in nfc(text).chars() {
        if c.is_whitespace() || c.is_control() || !is_xml_char(c) || is_invisible(c) {
            if c.is_whitespace() || c == '\u{0}' || c.is_control() {
                pending_space = !out.is_empty();
            }
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// The text in NFC. Nearly all text already is, and the quick check that says so costs a
/// fraction of running the composing iterator over every character (about a tenth of ingest's
/// CPU time went to that iterator).
fn nfc(text: &str) -> Cow<'_, str> {
    if text.chars().all(is_always_nfc) {
        return Cow::Borrowed(text);
    }
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(text.nfc().collect()),
    }
}

/// Characters that are NFC wherever they stand, checked by range before Unicode's quick-check
/// table (which was still a twentieth of ingest's CPU time): everything below the combining
/// marks (U+0300), Cyrillic but for its combining marks (U+0483–U+0489), and the dashes, quotes
/// and ellipsis of U+2010–U+2027 and №, none of which has a canonical decomposition.
fn is_always_nfc(c: char) -> bool {
    matches!(c, '\0'..='\u{2FF}' | '\u{400}'..='\u{482}' | '\u{48A}'..='\u{4FF}' | '\u{2010}'..='\u{2027}' | '№')
}

/// Zero-width characters some CMSs sprinkle into text; they break word matching.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// A title as plain text: markup and entities removed, one line.
pub fn title_text(title_html: &str) -> String {
    // Some feeds escape entities twice (`&amp;laquo;`); one more decoding pass over a title is
    // harmless because a title has no markup left to protect.
    let mut text = html_to_text(title_html).replace("\n\n", " ");
    if text.contains('&') {
        text = clean_line(&html_escape::decode_html_entities(&text));
    }
    // A title is text, but many feed readers render RSS titles as HTML: markup that was
    // escaped once too often (or came as a plain-text title) is removed too, so no output feed
    // carries a tag in a title even as escaped text.
    for _ in 0..3 {
        if !looks_like_markup(&text) {
            break;
        }
        text = html_to_text(&text).replace("\n\n", " ");
    }
    text
}

/// `<` followed by what starts a tag, an end tag, a comment or a declaration.
fn looks_like_markup(text: &str) -> bool {
    text.match_indices('<').any(|(i, _)| {
        text[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
    })
}

/// Sanitized HTML: safe elements and attributes only, relative URLs resolved against `base`;
/// only http(s) and mailto links survive (no `javascript:` or `data:`), embedded frames go with
/// their content, and so do tracking pixels.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    let without_pixels = drop_tracking_images(html);
    let html = without_pixels.as_deref().unwrap_or(html);
    let cleaned = SANITIZER.with(|sanitizer| {
        BASE.with_borrow_mut(|current| *current = base.cloned());
        sanitizer.clean(html).to_string()
    });
    let mut out = String::with_capacity(cleaned.len());
    out.extend(
        nfc(&cleaned)
            .chars()
            .filter(|&c| is_xml_char(c) && !is_invisible(c)),
    );
    out.trim().to_string()
}

/// Counters and pixels: 1×1 or hidden images, or images from analytics hosts. `None` when there
/// is nothing to drop.
fn drop_tracking_images(html: &str) -> Option<String> {
    if !html.contains("<img") && !html.contains("<IMG") {
        return None;
    }
    let mut fragment = Html::parse_fragment(html);
    let selector = scraper::Selector::parse("img").ok()?;
    let pixels: Vec<_> = fragment
        .select(&selector)
        .filter(|img| is_tracking_image(img.value()))
        .map(|img| img.id())
        .collect();
    if pixels.is_empty() {
        return None;
    }
    for id in pixels {
        if let Some(mut node) = fragment.tree.get_mut(id) {
            node.detach();
        }
    }
    Some(fragment.root_element().inner_html())
}

fn is_tracking_image(img: &scraper::node::Element) -> bool {
    const COUNTER_HOSTS: &[&str] = &[
        "mc.yandex.ru",
        "counter.yadro.ru",
        "top-fwz1.mail.ru",
        "top.mail.ru",
        "google-analytics.com",
        "www.google-analytics.com",
        "counter.rambler.ru",
        "top100-images.rambler.ru",
        "pixel.",
        "www.facebook.com/tr",
        "vk.com/rtrg",
    ];
    let tiny = |name: &str| {
        img.attr(name).is_some_and(|v| {
            let v = v.trim().trim_end_matches("px");
            v == "0" || v == "1"
        })
    };
    let style = img.attr("style").unwrap_or_default().replace(' ', "");
    let src = img.attr("src").unwrap_or_default();
    let host_and_path = src.split_once("://").map(|(_, rest)| rest).unwrap_or(src);
    tiny("width")
        || tiny("height")
        || style.contains("display:none")
        || style.contains("width:1px")
        || style.contains("left:-9999px")
        || COUNTER_HOSTS.iter().any(|h| host_and_path.starts_with(h))
}

thread_local! {
    /// The sanitizer, built once per thread: building one (ammonia's tag and attribute sets)
    /// cost as much as a tenth of cleaning an item, and every item with a link needed its own
    /// for its base URL. The base is read from [`BASE`] instead.
    static SANITIZER: Builder<'static> = sanitizer();
    /// The URL relative links of the HTML being sanitized on this thread resolve against.
    static BASE: std::cell::RefCell<Option<Url>> = const { std::cell::RefCell::new(None) };
}

fn sanitizer() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .add_clean_content_tags(["iframe", "noscript", "template", "object", "embed"])
        .add_generic_attributes(["title"])
        .add_tags(["figure", "figcaption"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(UrlRelative::Custom(Box::new(resolve_relative)))
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
}

/// A relative link made absolute against the thread's [`BASE`]; kept as it is without a base,
/// and dropped when it cannot be resolved.
fn resolve_relative(link: &str) -> Option<Cow<'_, str>> {
    BASE.with_borrow(|base| match base {
        Some(base) => base
            .join(link)
            .ok()
            .map(|absolute| Cow::Owned(absolute.into())),
        None => Some(Cow::Owned(link.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_paragraphs_and_decodes_entities() {
        let html = "<p>Первый&nbsp;абзац &laquo;с&raquo;   пробелами.</p><div>Второй<br>третий</div><script>alert(1)</script>";
        assert_eq!(
            html_to_text(html),
            "Первый абзац «с» пробелами.\n\nВторой\n\nтретий"
        );
    }

    #[test]
    fn plain_text_stays_as_is() {
        assert_eq!(
            html_to_text("Просто текст ― «Время»…"),
            "Просто текст ― «Время»…"
        );
    }

    #[test]
    fn drops_control_and_invisible_characters_and_normalizes() {
        assert_eq!(clean_line("а\u{b}б\u{200b}в и\u{306}"), "а бв й");
        assert_eq!(
            clean_line("уже составленный текст: й"),
            "уже составленный текст: й"
        );
        assert_eq!(sanitize_html("<p>Маи\u{306}</p>", None), "<p>Май</p>");
    }

    #[test]
    fn titles_lose_markup_and_double_escaping() {
        assert_eq!(
            title_text("&amp;laquo;Время&amp;raquo; <b>пишет</b>"),
            "«Время» пишет"
        );
        assert_eq!(title_text("a &lt; b"), "a < b");
    }

    #[test]
    fn the_range_check_only_passes_what_is_nfc() {
        let always: Vec<char> = ('\0'..='\u{3000}').filter(|&c| is_always_nfc(c)).collect();
        for &c in &always {
            assert_eq!(
                is_nfc_quick(std::iter::once(c)),
                IsNormalized::Yes,
                "U+{:04X}",
                c as u32
            );
        }
        // Each is a quick-check Yes (not Maybe), so none composes with what precedes it, and a
        // string of them is NFC as a whole.
        assert_eq!(nfc("Маи\u{306}"), "Май");
        assert!(matches!(nfc("Май — «№ 5»…"), Cow::Borrowed(_)));
    }

    #[test]
    fn sanitizing_removes_scripts_and_resolves_links() {
        let base = Url::parse("https://vremya.ru/news/1.html").unwrap();
        let html = r#"<p onclick="x()">Текст <a href="/news/2.html">ссылка</a><img src="/upload/a.jpg"></p><script>alert(1)</script><a href="javascript:alert(1)">x</a>"#;
        let clean = sanitize_html(html, Some(&base));
        assert!(
            !clean.contains("script")
                && !clean.contains("onclick")
                && !clean.contains("javascript"),
            "{clean}"
        );
        assert!(
            clean.contains(r#"href="https://vremya.ru/news/2.html""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://vremya.ru/upload/a.jpg""#),
            "{clean}"
        );
        // The base belongs to one call: the next item, without one, keeps its links as they are.
        assert_eq!(
            sanitize_html(r#"<a href="/news/3.html">ещё</a>"#, None),
            r#"<a href="/news/3.html" rel="noopener noreferrer nofollow">ещё</a>"#
        );
    }

    #[test]
    fn sanitizing_drops_frames_data_urls_and_pixels() {
        let html = r#"<p>Текст</p><iframe src="https://vk.com/video_ext.php">видео</iframe><img src="data:image/png;base64,AAAA"><a href="data:text/html,x">d</a><img src="https://mc.yandex.ru/watch/1"><img src="/p.gif" width="1" height="1"><img src="/photo.jpg" width="800"><noscript><img src="/n.gif"></noscript>"#;
        let clean = sanitize_html(html, Url::parse("https://a.ru/").ok().as_ref());
        for gone in ["iframe", "видео", "data:", "mc.yandex", "p.gif", "n.gif"] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains(r#"src="https://a.ru/photo.jpg""#), "{clean}");
    }

    #[test]
    fn sanitizing_keeps_structure() {
        let html = "<h2>Итоги</h2><ul><li>один</li></ul><ol><li>два</li></ol><blockquote>цитата</blockquote><table><tr><th>А</th><td>1</td></tr></table><p><em>курсив</em> <strong>жирный</strong></p><figure><img src=\"https://a.ru/1.jpg\"><figcaption>подпись</figcaption></figure>";
        let clean = sanitize_html(html, None);
        for kept in [
            "<h2>",
            "<ul>",
            "<ol>",
            "<li>",
            "<blockquote>",
            "<table>",
            "<th>",
            "<td>",
            "<em>",
            "<strong>",
            "<figure>",
            "<figcaption>",
            "<img src=\"https://a.ru/1.jpg\"",
        ] {
            assert!(clean.contains(kept), "{kept} missing from {clean}");
        }
    }
}
