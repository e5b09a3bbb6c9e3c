//! News list pages without a feed (`kind = "html"`): items found by the operator's CSS selectors.

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::{DateParser, ParseError, ParsedFeed, RawItem};
use crate::config::HtmlSelectors;

/// Reads a list page into items. A page where the item selector matches nothing is an error that
/// names the selector: it usually means the site changed its layout.
pub fn parse_html_list(
    text: &str,
    page_url: &Url,
    selectors: &HtmlSelectors,
    dates: DateParser,
) -> Result<ParsedFeed, ParseError> {
    let compile = |s: &str| {
        Selector::parse(s).map_err(|e| ParseError::Feed(format!("bad selector \"{s}\": {e}")))
    };
    let item_sel = compile(&selectors.item)?;
    let title_sel = compile(&selectors.title)?;
    let link_sel = compile(&selectors.link)?;
    let date_sel = selectors.date.as_deref().map(compile).transpose()?;
    let summary_sel = selectors.summary.as_deref().map(compile).transpose()?;

    let document = Html::parse_document(text);
    let page_title = Selector::parse("title")
        .ok()
        .and_then(|s| document.select(&s).next())
        .map(|t| element_text(&t));
    let mut items = Vec::new();
    for item in document.select(&item_sel) {
        let title = item.select(&title_sel).next().map(|e| element_text(&e));
        let link = item
            .select(&link_sel)
            .next()
            .and_then(|e| e.value().attr("href"))
            .and_then(|href| page_url.join(href.trim()).ok())
            .map(String::from);
        if title.as_deref().is_none_or(str::is_empty) && link.is_none() {
            continue;
        }
        let published = date_sel.as_ref().and_then(|sel| {
            let element = item.select(sel).next()?;
            // A machine-readable datetime attribute beats the displayed text when present.
            element
                .value()
                .attr("datetime")
                .and_then(|d| dates(d))
                .or_else(|| dates(&element_text(&element)))
        });
        let summary_html = summary_sel
            .as_ref()
            .and_then(|sel| item.select(sel).next())
            .map(|e| e.inner_html());
        items.push(RawItem {
            title: title.map(|t| html_escape::encode_text(&t).into_owned()),
            link,
            summary_html,
            published,
            ..RawItem::default()
        });
    }
    if items.is_empty() {
        return Err(ParseError::NoItems {
            selector: selectors.item.clone(),
        });
    }
    Ok(ParsedFeed {
        title: page_title,
        link: Some(page_url.to_string()),
        items,
        ..ParsedFeed::default()
    })
}

fn element_text(element: &ElementRef) -> String {
    element
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn selectors(item: &str) -> HtmlSelectors {
        HtmlSelectors {
            item: item.to_string(),
            title: "a.title".to_string(),
            link: "a.title".to_string(),
            date: Some(".date".to_string()),
            summary: Some(".lead".to_string()),
        }
    }

    const PAGE: &str = r#"<html><head><title>Новости — Время</title></head><body>
<div class="news-item"><a class="title" href="/news/1.html">Открыли  школу</a><span class="date">24.11.2026</span><p class="lead">В <b>Кингисеппе</b>…</p></div>
<div class="news-item"><a class="title" href="https://vremya.ru/news/2.html">Ремонт дорог</a><span class="date">вчера</span></div>
</body></html>"#;

    #[test]
    fn finds_items_by_selectors() {
        let url = Url::parse("https://vremya.ru/news/").unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let dates: DateParser = Arc::new(move |s| {
            log.lock().unwrap().push(s.to_string());
            None
        });
        let feed = parse_html_list(PAGE, &url, &selectors(".news-item"), dates).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Новости — Время"));
        assert_eq!(feed.items.len(), 2);
        assert_eq!(feed.items[0].title.as_deref(), Some("Открыли школу"));
        assert_eq!(
            feed.items[0].link.as_deref(),
            Some("https://vremya.ru/news/1.html")
        );
        assert_eq!(
            feed.items[0].summary_html.as_deref(),
            Some("В <b>Кингисеппе</b>…")
        );
        assert_eq!(*seen.lock().unwrap(), ["24.11.2026", "вчера"]);
    }

    #[test]
    fn an_item_selector_that_matches_nothing_names_itself() {
        let url = Url::parse("https://vremya.ru/news/").unwrap();
        let err =
            parse_html_list(PAGE, &url, &selectors(".news-card"), Arc::new(|_| None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the item selector \".news-card\" matched nothing on the page"
        );
    }
}
