//! Links: the one shown to readers, and the canonical form that identifies an article.
//!
//! The same article reaches us as `http://www.Site.ru/news/1/?utm_source=vk#comments` and as
//! `https://site.ru/news/1`. Readers get the publisher's own link minus tracking parameters;
//! identity ignores everything that does not change the page.

use url::Url;

/// Query parameters that only track where a click came from.
fn is_tracking_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "yclid"
                | "gclid"
                | "fbclid"
                | "dclid"
                | "msclkid"
                | "_openstat"
                | "from"
                | "ref"
                | "ref_src"
                | "rss"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "_ga"
                | "_gl"
                | "ysclid"
                | "zen_source"
                | "utm"
        )
}

/// The publisher's link, resolved against `base`, with tracking parameters and the fragment
/// dropped; `None` when it is not an http(s) URL.
pub fn reader_link(link: &str, base: Option<&Url>) -> Option<Url> {
    let link = link.trim();
    // Markup or quotes are never part of a link as written (a real one has them escaped); such a
    // "link" is junk or an attack, and resolved against the feed's URL it would become one.
    if link.contains(['<', '>', '"', '`']) || link.contains(|c: char| c.is_control()) {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !is_tracking_parameter(name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else if url.query_pairs().count() != kept.len() {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(url)
}

/// The identity of an article's URL: scheme, `www.`, host case, a trailing slash, the fragment,
/// tracking parameters and parameter order do not count. IDN hosts are punycode (the url crate
/// does that while parsing).
pub fn canonical_url(link: &Url) -> String {
    let host = link.host_str().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut out = format!("https://{host}");
    if let Some(port) = link.port() {
        if port != 80 && port != 443 {
            out.push_str(&format!(":{port}"));
        }
    }
    let path = link.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    out.push_str(path);
    let mut params: Vec<(String, String)> = link
        .query_pairs()
        .filter(|(name, _)| !is_tracking_parameter(name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    if !params.is_empty() {
        params.sort();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        out.push('?');
        out.push_str(&query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_not_a_link() {
        let base = Url::parse("https://example.org/rss").unwrap();
        for junk in [
            "<script>alert(1)</script>",
            "<a href=\"x\">x</a>",
            "x\u{1}y",
            "`javascript:alert(1)`",
        ] {
            assert_eq!(reader_link(junk, Some(&base)), None, "{junk}");
        }
        assert!(reader_link("/news/1?a=1", Some(&base)).is_some());
    }

    fn canon(link: &str) -> String {
        canonical_url(&reader_link(link, None).unwrap())
    }

    #[test]
    fn reader_link_drops_tracking_and_fragment_only() {
        let url = reader_link(
            "https://lenobl.ru/ru/news/58312/?utm_source=rss&utm_medium=feed#top",
            None,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://lenobl.ru/ru/news/58312/");
        let url = reader_link(
            "https://47news.ru/articles/260114/?yclid=7731&from=rss&id=5",
            None,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://47news.ru/articles/260114/?id=5");
        let url = reader_link("HTTP://WWW.Example.RU/A?b=2&a=1", None).unwrap();
        assert_eq!(url.as_str(), "http://www.example.ru/A?b=2&a=1");
    }

    #[test]
    fn reader_link_resolves_relative_and_rejects_other_schemes() {
        let base = Url::parse("https://vremya.ru/news/").unwrap();
        assert_eq!(
            reader_link("/news/2.html", Some(&base)).unwrap().as_str(),
            "https://vremya.ru/news/2.html"
        );
        assert!(reader_link("javascript:alert(1)", Some(&base)).is_none());
        assert!(reader_link("mailto:a@b.ru", None).is_none());
        assert!(reader_link("not a url", None).is_none());
    }

    #[test]
    fn identity_ignores_what_does_not_change_the_page() {
        let expected = "https://site.ru/news/1?a=1&b=2";
        for variant in [
            "http://www.Site.ru/news/1/?b=2&a=1&utm_source=vk#comments",
            "https://site.ru/news/1?a=1&b=2",
            "https://SITE.RU/news/1/?fbclid=x&a=1&gclid=y&b=2&_openstat=z",
        ] {
            assert_eq!(canon(variant), expected, "{variant}");
        }
        assert_ne!(
            canon("https://site.ru/news/1?id=1"),
            canon("https://site.ru/news/1?id=2")
        );
        assert_ne!(
            canon("https://site.ru/News/1"),
            canon("https://site.ru/news/1")
        );
    }

    #[test]
    fn idn_hosts_become_punycode() {
        assert_eq!(
            canon("https://администрация.рф/новости/1"),
            "https://xn--80aalqabyj2ajl4c8g.xn--p1ai/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/1"
        );
    }
}
