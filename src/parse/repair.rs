//! Repairs that let a strict XML parser read what real feed readers accept.
//!
//! Applied to the UTF-8 text after decoding:
//!
//! - anything before the XML declaration goes (whitespace, a BOM, a PHP warning);
//! - the declaration is rewritten to UTF-8: the text *is* UTF-8 now, whatever the source said
//!   (and quick-xml under feed-rs panics on text declared UTF-16);
//! - an `<rss>` root without a `version` (or with one feed-rs does not know) gets `2.0`, which
//!   reads every RSS 0.9x/2.0 dialect; feed-rs rejects the whole feed otherwise;
//! - outside CDATA sections and comments, a bare `&` becomes `&amp;`, and HTML entities that
//!   XML does not declare (`&laquo;`, `&nbsp;`) become numeric references: feed-rs fails on the
//!   whole feed for one bare `&` (common in `.ru` feeds: `?id=1&page=2`) and leaves undeclared
//!   entities as literal text;
//! - characters that XML 1.0 forbids are dropped everywhere;
//! - a second XML declaration further in (two feeds glued together) is dropped.

use std::borrow::Cow;

/// Makes UTF-8 feed text acceptable to an XML parser; borrows when nothing needs changing.
pub fn repair_xml(text: &str) -> Cow<'_, str> {
    let text = skip_leading_junk(text);
    let text = match rewrite_declaration(text) {
        Cow::Borrowed(t) => set_rss_version(t),
        Cow::Owned(t) => Cow::Owned(set_rss_version(&t).into_owned()),
    };
    match escape_markup(&text) {
        // Dropping forbidden characters can make a declaration of what was not one
        // (`<?x\0ml …`, the fuzzer again): the start is looked at once more.
        Some(fixed) => Cow::Owned(rewrite_declaration(&fixed).into_owned()),
        None => text,
    }
}

/// The XML 1.0 `Char` production; anything else makes expat and libxml reject the document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// How far into the text an XML declaration is looked for behind junk.
const JUNK_LIMIT: usize = 4096;

fn skip_leading_junk(text: &str) -> &str {
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.starts_with('<') {
        return trimmed;
    }
    let head = &trimmed[..floor_char_boundary(trimmed, JUNK_LIMIT)];
    match head.find("<?xml") {
        Some(at) => &trimmed[at..],
        None => trimmed,
    }
}

fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Escapes bare `&`, turns undeclared entities into character references and drops characters
/// XML forbids; `None` when the text needs none of it.
fn escape_markup(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut copied = 0; // text[..copied] is in `out` already (when it exists)
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        // CDATA sections and comments are copied as they are, forbidden characters aside.
        let verbatim_end = if bytes[i] != b'<' {
            None
        } else if text[i..].starts_with("<![CDATA[") {
            Some(text[i..].find("]]>").map_or(text.len(), |e| i + e + 3))
        } else if text[i..].starts_with("<!--") {
            Some(text[i..].find("-->").map_or(text.len(), |e| i + e + 3))
        } else {
            None
        };
        if let Some(end) = verbatim_end {
            i = end;
            continue;
        }
        if i > 0 && is_declaration(&text[i..]) {
            // A second declaration is not XML, and feed-rs hands its encoding to quick-xml,
            // which panics when told to switch encodings mid-document: drop it.
            let end = text[i..].find("?>").map_or(text.len(), |e| i + e + 2);
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..i]);
            copied = end;
            i = end;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or('\u{0}');
        let replacement = if c == '&' {
            entity_replacement(&text[i + 1..])
        } else if !is_xml_char(c) {
            Some((String::new(), 0))
        } else {
            None
        };
        let mut next = i + c.len_utf8();
        if let Some((replacement, consumed)) = replacement {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
            out.push_str(&text[copied..i]);
            out.push_str(&replacement);
            next += consumed;
            copied = next;
        }
        i = next;
    }
    // Forbidden characters inside CDATA and comments were skipped above; drop them now.
    let mut fixed = match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            out
        }
        None if text.chars().all(is_xml_char) => return None,
        None => text.to_string(),
    };
    if !fixed.chars().all(is_xml_char) {
        fixed.retain(is_xml_char);
    }
    Some(fixed)
}

/// Whether `text` starts with an XML declaration (`<?xml` and a space), not another processing
/// instruction such as `<?xml-stylesheet`.
fn is_declaration(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 5
        && bytes[..5].eq_ignore_ascii_case(b"<?xml")
        && (bytes[5].is_ascii_whitespace() || bytes[5] == b'?')
}

/// What an `&` followed by `after` should become, and how many bytes after the `&` it
/// replaces: nothing for XML's own references, numeric references for an HTML entity, `&amp;`
/// for a bare ampersand.
fn entity_replacement(after: &str) -> Option<(String, usize)> {
    let end = after.as_bytes().iter().take(34).position(|&b| b == b';');
    let name = end.map_or("", |e| &after[..e]);
    let bare = Some(("&amp;".to_string(), 0));
    match name.as_bytes() {
        [b'#', b'x' | b'X', hex @ ..]
            if !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit) =>
        {
            None
        }
        [b'#', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => None,
        b"amp" | b"lt" | b"gt" | b"quot" | b"apos" => None,
        [first, rest @ ..]
            if first.is_ascii_alphabetic() && rest.iter().all(u8::is_ascii_alphanumeric) =>
        {
            let entity = format!("&{name};");
            let decoded = html_escape::decode_html_entities(&entity);
            if decoded == entity {
                // Not an HTML entity either: keep it visible as text.
                return bare;
            }
            let references = decoded
                .chars()
                .map(|c| format!("&#{};", u32::from(c)))
                .collect();
            Some((references, name.len() + 1))
        }
        _ => bare,
    }
}

/// Replaces the declared encoding with UTF-8, since the text was already decoded.
fn rewrite_declaration(text: &str) -> Cow<'_, str> {
    if !text.starts_with("<?xml") {
        return Cow::Borrowed(text);
    }
    let end = text.find("?>");
    let next_tag = text[1..].find('<').map(|at| at + 1);
    let Some(end) = end.filter(|end| next_tag.is_none_or(|tag| *end < tag)) else {
        // Unterminated before the next tag: not a declaration quick-xml can read (it may
        // swallow a later one and switch encodings midway, which panics). Without one, XML is
        // UTF-8, which the text now is.
        // The next tag may be another declaration: it gets the same treatment.
        return rewrite_declaration(next_tag.map_or("", |tag| &text[tag..]));
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

/// RSS versions feed-rs reads; any other `<rss>` is read as 2.0, the superset of them all.
const KNOWN_RSS_VERSIONS: &[&str] = &["2.0", "0.91", "0.92"];

fn set_rss_version(text: &str) -> Cow<'_, str> {
    let Some(start) = root_element_start(text) else {
        return Cow::Borrowed(text);
    };
    let tag = &text[start..];
    let Some(after_name) = tag.strip_prefix("<rss") else {
        return Cow::Borrowed(text);
    };
    if !after_name.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
        return Cow::Borrowed(text);
    }
    let tag_end = start + tag.find('>').unwrap_or(tag.len());
    let open_tag = &text[start..tag_end];
    if let Some((value_start, value_len)) = attribute_span(open_tag, "version") {
        let value = &open_tag[value_start..value_start + value_len];
        if KNOWN_RSS_VERSIONS.contains(&value.trim()) {
            return Cow::Borrowed(text);
        }
        let at = start + value_start;
        return Cow::Owned(format!("{}2.0{}", &text[..at], &text[at + value_len..]));
    }
    let at = start + "<rss".len();
    Cow::Owned(format!("{} version=\"2.0\"{}", &text[..at], &text[at..]))
}

/// Where the root element's start tag begins, past the declaration, comments, processing
/// instructions and the doctype.
fn root_element_start(text: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let offset = text[at..].find('<')?;
        at += offset;
        let rest = &text[at..];
        let skip_to = if rest.starts_with("<!--") {
            rest.find("-->").map(|e| e + 3)
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            rest.find('>').map(|e| e + 1)
        } else {
            return Some(at);
        };
        at += skip_to?;
    }
}

/// The span (start, length) of an attribute's value inside a start tag.
fn attribute_span(tag: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = tag[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let preceded_by_space = tag[..at].ends_with(char::is_whitespace);
        let rest = tag[from..].trim_start();
        if !preceded_by_space || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let value_start = tag.len() - value.len() + 1;
        let value_len = tag[value_start..].find(quote)?;
        return Some((value_start, value_len));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_a_legacy_declaration() {
        let fixed =
            repair_xml("<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"/>");
        assert_eq!(
            fixed,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"/>"
        );
        let fixed = repair_xml(
            "<?xml version='1.0' encoding='koi8-r' standalone='yes'?><rss version='2.0'/>",
        );
        assert_eq!(
            fixed,
            "<?xml version='1.0' encoding='UTF-8' standalone='yes'?><rss version='2.0'/>"
        );
    }

    #[test]
    fn leaves_clean_text_borrowed() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\">&amp; &#171; &#xAB; <![CDATA[&laquo; & ]]></rss>";
        assert!(matches!(repair_xml(text), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_bare_ampersands_only() {
        assert_eq!(
            repair_xml("<link>https://a.ru/?id=1&page=2</link><t>&amp; & нет</t>"),
            "<link>https://a.ru/?id=1&amp;page=2</link><t>&amp; &amp; нет</t>"
        );
        assert_eq!(
            repair_xml("<a>&#;&#x;&;&nosuchentity;</a>"),
            "<a>&amp;#;&amp;#x;&amp;;&amp;nosuchentity;</a>"
        );
    }

    #[test]
    fn html_entities_become_character_references() {
        assert_eq!(
            repair_xml("<t>&laquo;Да&raquo;&nbsp;&mdash; &lt;b&gt;</t>"),
            "<t>&#171;Да&#187;&#160;&#8212; &lt;b&gt;</t>"
        );
    }

    #[test]
    fn cdata_and_comments_are_left_alone() {
        let text = "<d><![CDATA[Цены & тарифы &laquo;x&raquo;]]></d><!-- a & b --><t>a & b</t>";
        assert_eq!(
            repair_xml(text),
            "<d><![CDATA[Цены & тарифы &laquo;x&raquo;]]></d><!-- a & b --><t>a &amp; b</t>"
        );
    }

    #[test]
    fn drops_characters_xml_forbids_and_leading_junk() {
        assert_eq!(
            repair_xml(
                "\u{feff}\n  <rss version=\"2.0\">a\u{b}b\u{fffe}c\u{0}<![CDATA[d\u{1}e]]></rss>"
            ),
            "<rss version=\"2.0\">abc<![CDATA[de]]></rss>"
        );
        assert_eq!(
            repair_xml("Warning: headers already sent in /var/www/rss.php<br>\n<?xml version=\"1.0\"?><rss version=\"2.0\"/>"),
            "<?xml version=\"1.0\"?><rss version=\"2.0\"/>"
        );
    }

    #[test]
    fn an_unterminated_declaration_is_dropped() {
        // Found by the charset_and_feed fuzzer: the broken declaration ran on to a later one's
        // `?>`, and quick-xml switched encodings midway (a panic).
        assert_eq!(
            repair_xml("<?xml version=\" type=\"text/html\"<rss version=\"2.0\"><?xml version=\"1.0\" encoding=\"windows-1251\"?><channel/></rss>"),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        // The same, the broken one followed straight by another declaration (fuzzer, again).
        assert_eq!(
            repair_xml("<?xml version=<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"/>"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"/>"
        );
    }

    #[test]
    fn a_declaration_further_in_is_dropped_and_stylesheets_kept() {
        assert_eq!(
            repair_xml("<?xml version=\"1.0\"?><rss version=\"2.0\"><?xml-stylesheet href=\"s.xsl\"?><channel><?xml version=\"1.0\" encoding=\"windows-1251\"?><title>А</title></channel></rss>"),
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><?xml-stylesheet href=\"s.xsl\"?><channel><title>А</title></channel></rss>"
        );
    }

    #[test]
    fn an_rss_root_gets_a_version_feed_rs_reads() {
        assert_eq!(
            repair_xml("<?xml version=\"1.0\"?>\n<!-- generator --><rss><channel/></rss>"),
            "<?xml version=\"1.0\"?>\n<!-- generator --><rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            repair_xml(
                "<rss xmlns:yandex=\"http://news.yandex.ru\" version=\"2.01\"><channel/></rss>"
            ),
            "<rss xmlns:yandex=\"http://news.yandex.ru\" version=\"2.0\"><channel/></rss>"
        );
        assert!(matches!(
            repair_xml("<rss version=\"0.91\"/>"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(repair_xml("<rsss/>"), Cow::Borrowed(_)));
    }
}
