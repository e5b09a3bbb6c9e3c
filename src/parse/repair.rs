//! Repairs that let a strict XML parser read what real feed readers accept.
//!
//! Applied to the UTF-8 text after decoding:
//!
//! - anything before the XML declaration goes (whitespace, a BOM, a PHP warning);
//! - an `<rss>` root without a `version` (or with one feed-rs does not know) gets `2.0`, which
//!   reads every RSS 0.9x/2.0 dialect; feed-rs rejects the whole feed otherwise;
//! - outside CDATA sections and comments, a bare `&` becomes `&amp;`, and HTML entities that
//!   XML does not declare (`&laquo;`, `&nbsp;`) become numeric references: feed-rs fails on the
//!   whole feed for one bare `&` (common in `.ru` feeds: `?id=1&page=2`) and leaves undeclared
//!   entities as literal text;
//! - characters that XML 1.0 forbids are dropped everywhere;
//! - last, every XML declaration goes except one at the very start that is well formed and
//!   declares UTF-8 or no encoding ([`strip_declarations`]).

use std::borrow::Cow;

/// Makes UTF-8 feed text acceptable to an XML parser; borrows when nothing needs changing.
pub fn repair_xml(text: &str) -> Cow<'_, str> {
    let text = skip_leading_junk(text);
    let text = match escape_markup(text) {
        Some(fixed) => Cow::Owned(fixed),
        None => Cow::Borrowed(text),
    };
    let text = then(text, set_rss_version);
    // Last, so that no later step can form a declaration again.
    then(text, strip_declarations)
}

/// Applies a borrowing repair to the result of the previous one.
fn then<'a>(text: Cow<'a, str>, repair: fn(&str) -> Cow<'_, str>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(text) => repair(text),
        Cow::Owned(text) => Cow::Owned(repair(&text).into_owned()),
    }
}

/// The XML 1.0 `Char` production; anything else makes expat and libxml reject the document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether a byte of UTF-8 text may start something [`escape_markup`] changes or skips: markup
/// (`<`, `&`), a C0 control other than tab, newline and return, or the lead byte of U+FFFE and
/// U+FFFF (`EF BF BE`, `EF BF BF`), the only other characters XML forbids that UTF-8 text can
/// hold. Each is an ASCII byte or a lead byte, so it starts a character.
fn may_need_repair(byte: u8) -> bool {
    matches!(byte, b'<' | b'&' | 0xEF) || (byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r'))
}

/// `text.chars().all(is_xml_char)`, looking only at the characters [`may_need_repair`] picks
/// out by their first byte.
fn all_xml_chars(text: &str) -> bool {
    text.bytes()
        .enumerate()
        .filter(|&(_, byte)| may_need_repair(byte))
        .all(|(i, _)| text[i..].chars().next().is_none_or(is_xml_char))
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
        // Straight to the next byte that may need anything: most of a feed needs nothing, and
        // stepping through it a character at a time took a big poll 20 ms.
        match bytes[i..].iter().position(|&b| may_need_repair(b)) {
            Some(skip) => i += skip,
            None => break,
        }
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
        None if all_xml_chars(text) => return None,
        None => text.to_string(),
    };
    if !all_xml_chars(&fixed) {
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

/// Removes every XML declaration but a clean one at the very start.
///
/// The text is UTF-8 whatever the source declared, and feed-rs hands a declaration's encoding
/// to quick-xml, which panics when a declaration it meets after the first switches encodings.
/// The fuzzer found such declarations in many shapes: a second one midway (two feeds glued
/// together), an unterminated one running on to a later one's `?>`, one formed only once
/// forbidden characters were dropped. So rather than mend shapes, this runs after every other
/// repair and guarantees one thing: the only declaration left, if any, starts the text, ends at
/// its own `?>` and declares UTF-8 or nothing. A declaration is dropped up to its `?>`, or up
/// to the next `<` when that comes first (an unterminated one must not swallow the root), and
/// the text on both sides of a dropped one is looked at again, since `<?x` + `ml ` is one more.
fn strip_declarations(text: &str) -> Cow<'_, str> {
    let kept = clean_declaration_len(text);
    let Some(first) = find_declaration(&text[kept..]).map(|at| kept + at) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut rest = &text[first..];
    loop {
        // `rest` starts with a declaration, maybe with the last bytes of `out` in front of it.
        let tail = declaration_tail(&out, rest);
        out.truncate(out.len() - tail);
        let body = &rest[DECLARATION_START.len() - tail..];
        let end = match (body.find("?>"), body.find('<')) {
            (Some(close), Some(next)) if next < close => next,
            (Some(close), _) => close + 2,
            (None, Some(next)) => next,
            (None, None) => body.len(),
        };
        rest = &body[end..];
        if declaration_tail(&out, rest) > 0 || is_declaration(rest) {
            continue;
        }
        match find_declaration(rest) {
            Some(at) => {
                out.push_str(&rest[..at]);
                rest = &rest[at..];
            }
            None => {
                out.push_str(rest);
                return Cow::Owned(out);
            }
        }
    }
}

/// `<?xml` as quick-xml recognises a declaration, followed by whitespace or `?`.
const DECLARATION_START: &str = "<?xml";

/// Where the first declaration in `text` begins.
fn find_declaration(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find('<') {
        let at = from + at;
        if is_declaration(&text[at..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// How many bytes at the end of `out` begin a declaration that `rest` completes (0 if none).
fn declaration_tail(out: &str, rest: &str) -> usize {
    for tail in (1..DECLARATION_START.len()).rev() {
        let Some(start) = out.len().checked_sub(tail) else {
            continue;
        };
        let (Some(head), Some(more)) = (
            out.get(start..),
            rest.get(..=DECLARATION_START.len() - tail),
        ) else {
            continue;
        };
        if is_declaration(&format!("{head}{more}")) {
            return tail;
        }
    }
    0
}

/// The length of the declaration that starts `text` if it is one to keep: terminated before
/// any other `<`, and declaring UTF-8 or no encoding. 0 otherwise.
fn clean_declaration_len(text: &str) -> usize {
    if !is_declaration(text) {
        return 0;
    }
    let Some(close) = text.find("?>") else {
        return 0;
    };
    let declaration = &text[..close];
    if declaration[1..].contains('<') {
        return 0;
    }
    let encoding = match declaration.split_once("encoding") {
        None => return close + 2,
        Some((_, after)) => after,
    };
    let value = encoding
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| v.strip_prefix(['"', '\'']))
        .and_then(|v| v.split_once(['"', '\'']))
        .map(|(value, _)| value);
    match value {
        Some(value) if value.eq_ignore_ascii_case("utf-8") && !encoding.contains("encoding") => {
            close + 2
        }
        _ => 0,
    }
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
    fn a_legacy_declaration_goes_and_a_utf8_one_stays() {
        // The text is UTF-8 now: a declaration of another encoding would be a lie.
        assert_eq!(
            repair_xml("<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"/>"),
            "<rss version=\"2.0\"/>"
        );
        assert_eq!(
            repair_xml(
                "<?xml version='1.0' encoding='koi8-r' standalone='yes'?><rss version='2.0'/>"
            ),
            "<rss version='2.0'/>"
        );
        for kept in [
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"/>",
            "<?xml version='1.0' encoding = 'UTF-8' standalone='yes'?><rss version='2.0'/>",
            "<?xml version=\"1.0\"?><rss version=\"2.0\"/>",
        ] {
            assert!(matches!(repair_xml(kept), Cow::Borrowed(_)), "{kept}");
        }
    }

    #[test]
    fn no_declaration_is_left_but_a_clean_one_at_the_start() {
        // Every shape the charset_and_feed fuzzer found, and joints the dropping itself makes:
        // whatever the input, quick-xml must not meet a declaration after the first byte.
        let inputs = [
            "<?xml version=<?x\0\0ml version=\"1.0\" encoding=\"windows-1251\"?><rss/>",
            "<a><?<?xml a?>xml encoding='koi8-r'?></a>",
            "<a><?x<?xml?>ml encoding='koi8-r'?><?xm<?XML\t?>l ?></a>",
            "<a><?xml version=\"1.0\" encoding=\"cp1251\"",
            "<?xml version=\"1.0\" encoding=\"utf-8\" encoding=\"cp1251\"?><a/>",
            "<?xml?><?xml ?><a><![CDATA[<?xml encoding='x'?>]]></a>",
        ];
        for input in inputs {
            let fixed = repair_xml(input);
            let after_start = &fixed[clean_declaration_len(&fixed)..];
            assert_eq!(find_declaration(after_start), None, "{input:?} → {fixed:?}");
        }
        assert_eq!(
            repair_xml("<a><?<?xml a?>xml encoding='koi8-r'?>б</a>"),
            "<a>б</a>"
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

    /// The byte-wise checks agree with `is_xml_char` on every character near the edges of
    /// what XML allows, alone and amid Cyrillic text.
    #[test]
    fn byte_checks_agree_with_xml_chars() {
        let edges = (0..0x300)
            .chain(0xD700..0xD800)
            .chain(0xE000..0xE100)
            .chain(0xEF00..0xF100)
            .chain(0xFF00..0x10100)
            .chain(0x10FF00..0x110000)
            .filter_map(char::from_u32);
        for c in edges {
            for text in [c.to_string(), format!("Минск{c}область")] {
                assert_eq!(
                    all_xml_chars(&text),
                    text.chars().all(is_xml_char),
                    "{:?}",
                    c as u32
                );
            }
            let first = c.to_string().as_bytes()[0];
            if !is_xml_char(c) || c == '<' || c == '&' {
                assert!(may_need_repair(first), "{:?}", c as u32);
            }
        }
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
            "<rss version=\"2.0\"/>"
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
