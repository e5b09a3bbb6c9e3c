//! Byte-level repairs that let a strict XML parser read what real feed readers accept.
//!
//! Applied to the UTF-8 text after decoding: the declaration is rewritten to UTF-8 (the text *is*
//! UTF-8 now, whatever the source declared), leading junk before the first `<` goes, bare `&`
//! becomes `&amp;` and characters that XML 1.0 forbids are dropped. feed-rs fails on the whole feed
//! for a single bare `&` (common in `.ru` feeds: `?id=1&page=2`), so this is not cosmetic.

use std::borrow::Cow;

/// Makes UTF-8 feed text acceptable to an XML parser; borrows when nothing needs changing.
pub fn repair_xml(text: &str) -> Cow<'_, str> {
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let text = rewrite_declaration(text);
    let needs_fixing = text
        .char_indices()
        .any(|(i, c)| !is_xml_char(c) || (c == '&' && !starts_entity(&text[i + 1..])));
    if !needs_fixing {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 64);
    for (i, c) in text.char_indices() {
        if !is_xml_char(c) {
            continue;
        }
        if c == '&' && !starts_entity(&text[i + 1..]) {
            out.push_str("&amp;");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The XML 1.0 `Char` production; anything else makes expat and libxml reject the document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether the text after an `&` is a named, decimal or hexadecimal character reference.
fn starts_entity(after: &str) -> bool {
    let bytes = after.as_bytes();
    let Some(end) = bytes.iter().take(34).position(|&b| b == b';') else {
        return false;
    };
    let name = &bytes[..end];
    match name {
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        [first, rest @ ..] => {
            first.is_ascii_alphabetic() && rest.iter().all(|b| b.is_ascii_alphanumeric())
        }
        [] => false,
    }
}

/// Replaces the declared encoding with UTF-8, since the text was already decoded.
fn rewrite_declaration(text: &str) -> Cow<'_, str> {
    if !text.starts_with("<?xml") {
        return Cow::Borrowed(text);
    }
    let Some(end) = text.find("?>") else {
        return Cow::Borrowed(text);
    };
    let declaration = &text[..end];
    let Some(at) = declaration.find("encoding") else {
        return Cow::Borrowed(text);
    };
    let after = &declaration[at + "encoding".len()..];
    let Some(open) = after.find(['"', '\'']) else {
        return Cow::Borrowed(text);
    };
    let quote = after[open..].chars().next().unwrap_or('"');
    let value_start = at + "encoding".len() + open + 1;
    let Some(value_len) = declaration[value_start..].find(quote) else {
        return Cow::Borrowed(text);
    };
    if declaration[value_start..value_start + value_len].eq_ignore_ascii_case("utf-8") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..value_start]);
    out.push_str("UTF-8");
    out.push_str(&text[value_start + value_len..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_a_legacy_declaration() {
        let fixed = repair_xml("<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss/>");
        assert_eq!(fixed, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>");
        let fixed = repair_xml("<?xml version='1.0' encoding='koi8-r' standalone='yes'?><rss/>");
        assert_eq!(
            fixed,
            "<?xml version='1.0' encoding='UTF-8' standalone='yes'?><rss/>"
        );
    }

    #[test]
    fn leaves_clean_text_borrowed() {
        let text =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>&amp; &#171; &#xAB; &laquo;</rss>";
        assert!(matches!(repair_xml(text), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_bare_ampersands_only() {
        assert_eq!(
            repair_xml("<link>https://a.ru/?id=1&page=2</link><t>&laquo;Да&raquo; & нет</t>"),
            "<link>https://a.ru/?id=1&amp;page=2</link><t>&laquo;Да&raquo; &amp; нет</t>"
        );
        assert_eq!(
            repair_xml("<a>&#;&#x;&;</a>"),
            "<a>&amp;#;&amp;#x;&amp;;</a>"
        );
    }

    #[test]
    fn drops_characters_xml_forbids_and_leading_junk() {
        assert_eq!(
            repair_xml("\u{feff}\n  <rss>a\u{b}b\u{fffe}c\u{0}</rss>"),
            "<rss>abc</rss>"
        );
    }
}
