//! Deciding a document's character encoding and decoding it to UTF-8.
//!
//! No Rust feed parser uses the HTTP charset, and feed-rs lets an XML declaration override a BOM,
//! so Vestnik decides the encoding itself and hands the parser UTF-8. The order, first match wins:
//!
//! 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) — unambiguous;
//! 2. UTF-16 without a BOM, seen from the NUL bytes around the first `<`;
//! 3. the bytes are UTF-8, but for rare damage (a character cut in half by a CMS) — legacy
//!    Cyrillic single-byte text practically never is, and pure ASCII reads the same in every
//!    candidate;
//! 4. the charset of the HTTP `Content-Type`, or the document's own declaration
//!    (`<?xml encoding>`, `<meta charset>`) — when both name a legacy charset and disagree,
//!    chardetng picks between them; a label that says UTF-8 is ignored, since step 3 showed the
//!    bytes are not;
//! 5. chardetng on the first 64 KiB, told the text is most likely Russian.

use encoding_rs::{Encoding, KOI8_R, KOI8_U, UTF_16BE, UTF_16LE, UTF_8};

/// What decided the encoding; reported by `inspect` and in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    ByteOrderMark,
    Utf16Pattern,
    ValidUtf8,
    HttpHeader,
    Declaration,
    Detector,
}

#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub decided_by: CharsetSource,
}

/// How much of the body the detectors look at: enough to decide, cheap on big feeds.
const SNIFF_LIMIT: usize = 64 * 1024;

/// Decodes `bytes` to UTF-8; `http_charset` is the `charset` parameter of `Content-Type`, if any.
pub fn decode(bytes: &[u8], http_charset: Option<&str>) -> Decoded {
    let (encoding, decided_by, bom_len) = decide(bytes, http_charset);
    let body = bytes.get(bom_len..).unwrap_or_default();
    let (text, _) = encoding.decode_without_bom_handling(body);
    Decoded {
        text: text.into_owned(),
        encoding,
        decided_by,
    }
}

fn decide(bytes: &[u8], http_charset: Option<&str>) -> (&'static Encoding, CharsetSource, usize) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return (encoding, CharsetSource::ByteOrderMark, bom_len);
    }
    if let Some(encoding) = utf16_by_pattern(bytes) {
        return (encoding, CharsetSource::Utf16Pattern, 0);
    }
    if is_mostly_utf8(bytes) {
        return (UTF_8, CharsetSource::ValidUtf8, 0);
    }
    let head = &bytes[..bytes.len().min(SNIFF_LIMIT)];
    let legacy = |e: &&'static Encoding| *e != UTF_8;
    let from_header = http_charset
        .and_then(|label| ascii_compatible(label.as_bytes()))
        .filter(legacy);
    let declared = declared_charset(head).filter(legacy);
    match (from_header, declared) {
        (Some(header), Some(declared)) if header != declared => {
            if same_letters(detect(head, bytes.len()), declared) {
                (declared, CharsetSource::Declaration, 0)
            } else {
                (header, CharsetSource::HttpHeader, 0)
            }
        }
        (Some(header), _) => (header, CharsetSource::HttpHeader, 0),
        (None, Some(declared)) => (declared, CharsetSource::Declaration, 0),
        (None, None) => (detect(head, bytes.len()), CharsetSource::Detector, 0),
    }
}

/// Whether two encodings read Russian text the same: chardetng reports KOI8-R text as KOI8-U,
/// which differs only in Ukrainian letters.
fn same_letters(a: &'static Encoding, b: &'static Encoding) -> bool {
    let koi8 = |e: &'static Encoding| e == KOI8_R || e == KOI8_U;
    a == b || (koi8(a) && koi8(b))
}

fn detect(head: &[u8], total_len: usize) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(head, head.len() == total_len);
    detector.guess(Some(b"ru"), chardetng::Utf8Detection::Allow)
}

/// Valid UTF-8, or UTF-8 with at most one bad byte per 20 good multi-byte characters: a feed
/// damaged in one place is still UTF-8, while windows-1251 or KOI8-R Cyrillic text forms a
/// valid multi-byte sequence only by accident.
fn is_mostly_utf8(bytes: &[u8]) -> bool {
    // Nearly every feed is valid UTF-8, which std checks far faster than the characters are
    // counted below (10 ms of an 8 MB feed's decoding).
    if std::str::from_utf8(bytes).is_ok() {
        return true;
    }
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += chunk.invalid().len();
    }
    invalid == 0 || multibyte >= 20 * invalid
}

/// An encoding for a label, but only one that keeps ASCII as ASCII: a body that we could scan
/// for `<?xml` or `<meta>` is not UTF-16, whatever its label says.
fn ascii_compatible(label: &[u8]) -> Option<&'static Encoding> {
    let label = trim_quotes(label);
    Encoding::for_label(label).filter(|e| e.is_ascii_compatible())
}

fn trim_quotes(label: &[u8]) -> &[u8] {
    let label = label.trim_ascii();
    let label = label.strip_prefix(b"\"").unwrap_or(label);
    label.strip_suffix(b"\"").unwrap_or(label)
}

fn utf16_by_pattern(bytes: &[u8]) -> Option<&'static Encoding> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let start = start - start % 2;
    match bytes.get(start..start + 4)? {
        [b'<', 0, c, 0] if *c != 0 => Some(UTF_16LE),
        [0, b'<', 0, c] if *c != 0 => Some(UTF_16BE),
        _ => None,
    }
}

/// The encoding a document declares in its first bytes: `<?xml … encoding="…"?>`,
/// `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…; charset=…">`.
pub fn declared_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    if let Some(decl_start) = find(&lower, b"<?xml") {
        let decl_end = find(&lower[decl_start..], b"?>").map(|e| decl_start + e)?;
        let decl = &lower[decl_start..decl_end];
        if let Some(at) = find(decl, b"encoding") {
            return attribute_value(&decl[at + b"encoding".len()..]).and_then(ascii_compatible);
        }
        return None;
    }
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"charset") {
        let after = &lower[from + at + b"charset".len()..];
        if let Some(encoding) = attribute_value(after).and_then(ascii_compatible) {
            return Some(encoding);
        }
        from += at + 1;
    }
    None
}

/// The value after `=` in `= "value"`, `='value'` or `=value`.
fn attribute_value(rest: &[u8]) -> Option<&[u8]> {
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let (quote, rest) = match rest.first()? {
        q @ (b'"' | b'\'') => (Some(*q), &rest[1..]),
        _ => (None, rest),
    };
    let end = rest
        .iter()
        .position(|&b| match quote {
            Some(q) => b == q,
            None => b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b';' | b'>' | b'/'),
        })
        .unwrap_or(rest.len());
    let value = &rest[..end];
    (!value.is_empty()).then_some(value)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `charset` parameter of a `Content-Type` header value.
pub fn charset_of_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::WINDOWS_1251;

    const TITLE: &str = "Новости: ёлка, щи и «кавычки»";

    fn xml(encoding_label: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"{encoding_label}\"?><rss><channel><title>{TITLE}</title></channel></rss>")
    }

    fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        encoding.encode(text).0.into_owned()
    }

    #[test]
    fn windows_1251_by_declaration() {
        let decoded = decode(&encode(&xml("windows-1251"), WINDOWS_1251), None);
        assert!(decoded.text.contains(TITLE));
        assert_eq!(decoded.decided_by, CharsetSource::Declaration);
    }

    #[test]
    fn cp1251_alias_and_koi8() {
        assert!(decode(&encode(&xml("cp1251"), WINDOWS_1251), None)
            .text
            .contains(TITLE));
        // KOI8-R has no «»: encoding_rs would write them as character references.
        let koi8 = xml("koi8-r").replace(['«', '»'], "\"");
        assert_eq!(decode(&encode(&koi8, KOI8_R), None).text, koi8);
    }

    #[test]
    fn http_charset_when_the_document_says_nothing() {
        let body = encode(
            &format!("<rss><channel><title>{TITLE}</title></channel></rss>"),
            WINDOWS_1251,
        );
        let decoded = decode(&body, Some("windows-1251"));
        assert!(decoded.text.contains(TITLE));
        assert_eq!(decoded.decided_by, CharsetSource::HttpHeader);
    }

    #[test]
    fn detector_when_nothing_is_declared() {
        let body = encode(
            &format!("<rss><channel><title>{TITLE}</title><description>Губернатор Ленинградской области провёл совещание</description></channel></rss>"),
            WINDOWS_1251,
        );
        let decoded = decode(&body, None);
        assert_eq!(decoded.decided_by, CharsetSource::Detector);
        assert!(decoded.text.contains(TITLE), "{}", decoded.text);
    }

    #[test]
    fn utf8_bytes_under_a_wrong_declaration_stay_utf8() {
        let decoded = decode(xml("windows-1251").as_bytes(), Some("windows-1251"));
        assert!(decoded.text.contains(TITLE));
        assert_eq!(decoded.decided_by, CharsetSource::ValidUtf8);
    }

    #[test]
    fn bom_wins_over_declaration() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice(xml("windows-1251").as_bytes());
        let decoded = decode(&body, None);
        assert!(decoded.text.starts_with("<?xml"));
        assert!(decoded.text.contains(TITLE));
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let text = xml("utf-16");
        let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        for (body, bom) in [
            (le.clone(), vec![0xFF, 0xFE]),
            (be.clone(), vec![0xFE, 0xFF]),
        ] {
            assert!(decode(&body, None).text.contains(TITLE));
            let with_bom = [bom, body].concat();
            assert!(decode(&with_bom, None).text.contains(TITLE));
        }
    }

    #[test]
    fn html_meta_declarations() {
        let page = format!("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body>{TITLE}</body></html>");
        assert!(decode(&encode(&page, WINDOWS_1251), None)
            .text
            .contains(TITLE));
        let page =
            format!("<html><head><meta charset=windows-1251></head><body>{TITLE}</body></html>");
        assert!(decode(&encode(&page, WINDOWS_1251), None)
            .text
            .contains(TITLE));
    }

    #[test]
    fn a_utf8_label_on_legacy_bytes_is_ignored() {
        let body = encode(
            &format!("<rss><channel><title>{TITLE}</title><description>Губернатор Ленинградской области провёл совещание</description></channel></rss>"),
            WINDOWS_1251,
        );
        let decoded = decode(&body, Some("utf-8"));
        assert!(decoded.text.contains(TITLE), "{}", decoded.text);
        assert_eq!(decoded.decided_by, CharsetSource::Detector);
    }

    #[test]
    fn utf8_with_one_damaged_character_stays_utf8() {
        let text = format!("<rss><channel><title>{TITLE}</title><description>Губернатор Ленинградской области провёл совещание</description></channel></rss>");
        let mut body = text.into_bytes();
        let cut = body.len() - 20;
        body.insert(cut, 0xD0); // half of a two-byte character
        let decoded = decode(&body, None);
        assert_eq!(decoded.decided_by, CharsetSource::ValidUtf8);
        assert!(decoded.text.contains(TITLE));
    }

    #[test]
    fn the_detector_settles_a_header_and_a_declaration_that_disagree() {
        // A server default of windows-1251 on a KOI8-R document that says so itself.
        let koi8 = xml("koi8-r").replace(['«', '»'], "\"")
            + "<!-- Губернатор Ленинградской области провёл совещание с главами районов -->";
        let decoded = decode(&encode(&koi8, KOI8_R), Some("windows-1251"));
        assert_eq!(decoded.decided_by, CharsetSource::Declaration);
        assert_eq!(decoded.text, koi8);
        // And the header wins when it is the one the bytes agree with.
        let cp1251 = xml("koi8-r")
            + "<!-- Губернатор Ленинградской области провёл совещание с главами районов -->";
        let decoded = decode(&encode(&cp1251, WINDOWS_1251), Some("windows-1251"));
        assert_eq!(decoded.decided_by, CharsetSource::HttpHeader);
        assert!(decoded.text.contains(TITLE));
    }

    #[test]
    fn content_type_charset() {
        assert_eq!(
            charset_of_content_type("text/xml; charset=\"windows-1251\""),
            Some("windows-1251")
        );
        assert_eq!(
            charset_of_content_type("application/rss+xml;Charset=UTF-8"),
            Some("UTF-8")
        );
        assert_eq!(charset_of_content_type("text/xml"), None);
    }
}
