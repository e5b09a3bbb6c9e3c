//! HTML to clean text and safe HTML.
//!
//! Text keeps paragraphs (one per line pair) because clustering and topics read sentences, and
//! readers see it in plain-text previews. Every string leaving this module is NFC and holds only
//! characters XML 1.0 allows: the feed writers do not filter them, and one stray `\x0B` makes
//! strict XML parsers reject a whole output feed.

use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};
use scraper::{Html, Node};
use unicode_normalization::UnicodeNormalization;
use url::Url;

use crate::parse::repair::is_xml_char;

/// Elements whose content is never text a reader should see.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "svg", "head", "select",
    "button",
];

/// Elements that start a new paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "main",
    "form",
    "address",
    "center",
];

/// Plain text of an HTML fragment: entities decoded, paragraphs separated by a blank line,
/// whitespace inside a paragraph folded to single spaces.
pub fn html_to_text(html: &str) -> String {
    paragraphs(html).join("\n\n")
}

/// The paragraphs of an HTML fragment, each folded to one line.
pub fn paragraphs(html: &str) -> Vec<String> {
    let fragment = Html::parse_fragment(html);
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    walk(fragment.tree.root(), &mut current, &mut paragraphs);
    flush(&mut current, &mut paragraphs);
    paragraphs
}

fn walk(node: ego_tree::NodeRef<'_, Node>, current: &mut String, out: &mut Vec<String>) {
    for child in node.children() {
        match child.value() {
            Node::Text(text) => current.push_str(text),
            Node::Element(element) => {
                let name = element.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    flush(current, out);
                }
                if name == "img" {
                    continue;
                }
                walk(child, current, out);
                if block {
                    flush(current, out);
                } else if matches!(name, "td" | "th") {
                    current.push(' ');
                }
            }
            _ => {}
        }
    }
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    let line = clean_line(current);
    if !line.is_empty() {
        out.push(line);
    }
    current.clear();
}

/// One line of text: NFC, no characters XML forbids or control characters, whitespace folded.
pub fn clean_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfc() {
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
    let text = html_to_text(title_html).replace("\n\n", " ");
    if text.contains('&') {
        clean_line(&html_escape::decode_html_entities(&text))
    } else {
        text
    }
}

/// Sanitized HTML: safe elements and attributes only, relative URLs resolved against `base`.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    static DEFAULT: OnceLock<Builder<'static>> = OnceLock::new();
    let cleaned = match base {
        Some(base) => {
            let mut builder = sanitizer();
            builder.url_relative(UrlRelative::RewriteWithBase(base.clone()));
            builder.clean(html).to_string()
        }
        None => DEFAULT.get_or_init(sanitizer).clean(html).to_string(),
    };
    let mut out = String::with_capacity(cleaned.len());
    out.extend(
        cleaned
            .nfc()
            .filter(|&c| is_xml_char(c) && !is_invisible(c)),
    );
    out.trim().to_string()
}

fn sanitizer() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .add_generic_attributes(["title"])
        .add_tags(["figure", "figcaption"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
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
    }
}
