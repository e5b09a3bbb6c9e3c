//! Yandex's RSS extensions: `yandex:full-text` (Яндекс.Новости) and `turbo:content` (Турбо-
//! страницы) carry an item's whole text when `<description>` holds only the lead. feed-rs drops
//! elements in namespaces it does not know, so a light second scan of the same text reads them
//! and hands them to the items feed-rs made.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::RawItem;

/// What the scan found in one `<item>`.
#[derive(Debug, Default, PartialEq)]
struct ItemText {
    guid: Option<String>,
    link: Option<String>,
    full_text: Option<String>,
}

/// Whether a feed text may carry the extensions; the scan runs only then.
pub fn mentions_full_text(xml: &str) -> bool {
    xml.contains("full-text") || xml.contains("turbo:content")
}

/// Gives each item its `yandex:full-text` or `turbo:content` as content, when that is longer
/// than the content it has. Items are matched by position when the scan saw as many items as
/// feed-rs did (the usual case), else by guid or link.
pub fn merge_full_texts(xml: &str, items: &mut [RawItem]) {
    let found = scan(xml);
    if found.iter().all(|f| f.full_text.is_none()) {
        return;
    }
    let same_order = found.len() == items.len();
    for (index, item) in items.iter_mut().enumerate() {
        let matched = if same_order {
            found.get(index)
        } else {
            found.iter().find(|f| {
                (f.guid.is_some() && f.guid == item.guid)
                    || (f.link.is_some()
                        && f.link.as_deref().map(str::trim) == item.link.as_deref())
            })
        };
        let Some(full_text) = matched.and_then(|f| f.full_text.as_deref()) else {
            continue;
        };
        let html = as_html(full_text);
        let current = item.content_html.as_deref().map_or(0, str::len);
        if html.len() > current {
            item.content_html = Some(html);
        }
    }
}

/// Reads guid, link and full text of every `<item>`; stops quietly at broken XML (feed-rs has
/// already read the feed: this scan only adds).
fn scan(xml: &str) -> Vec<ItemText> {
    let mut reader = Reader::from_str(xml);
    let mut items = Vec::new();
    let mut current: Option<ItemText> = None;
    // The field being read inside an item, and its text so far.
    let mut field: Option<(Field, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let name = start.name();
                let name = name.as_ref();
                if name == "item" {
                    current = Some(ItemText::default());
                } else if current.is_some() && field.is_none() {
                    field = Field::of(name).map(|f| (f, String::new()));
                }
            }
            Ok(Event::End(end)) => {
                let name = end.name();
                let name = name.as_ref();
                if name == "item" {
                    items.extend(current.take());
                    field = None;
                } else if let (Some(item), Some((kind, _))) = (current.as_mut(), &field) {
                    if Field::of(name) == Some(*kind) {
                        if let Some((kind, text)) = field.take() {
                            let text = text.trim().to_string();
                            let slot = match kind {
                                Field::Guid => &mut item.guid,
                                Field::Link => &mut item.link,
                                Field::FullText => &mut item.full_text,
                            };
                            if !text.is_empty() && slot.is_none() {
                                *slot = Some(text);
                            }
                        }
                    }
                }
            }
            Ok(Event::Text(text)) => {
                if let Some((_, buffer)) = field.as_mut() {
                    buffer.push_str(&text);
                }
            }
            Ok(Event::CData(data)) => {
                if let Some((_, buffer)) = field.as_mut() {
                    buffer.push_str(&data);
                }
            }
            Ok(Event::GeneralRef(reference)) => {
                if let Some((_, buffer)) = field.as_mut() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => buffer.push(c),
                        _ => match &*reference {
                            "quot" => buffer.push('"'),
                            "apos" => buffer.push('\''),
                            // `&amp;`, `&lt;`, `&gt;` stay escaped, and an HTML entity
                            // (`&laquo;`) stays as written: the text is HTML from here on.
                            other => {
                                buffer.push('&');
                                buffer.push_str(other);
                                buffer.push(';');
                            }
                        },
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    items
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Guid,
    Link,
    FullText,
}

impl Field {
    fn of(name: &str) -> Option<Field> {
        match name {
            "guid" => Some(Field::Guid),
            "link" => Some(Field::Link),
            "turbo:content" => Some(Field::FullText),
            _ if name.ends_with(":full-text") || name == "full-text" => Some(Field::FullText),
            _ => None,
        }
    }
}

/// The extension's text as HTML. Many feeds put plain text there, paragraphs on their own
/// lines; those become `<p>` elements so that paragraphs survive. `&`, `<`, `>` reach here
/// escaped (`&amp;`, `&lt;`), so plain text needs no more escaping.
fn as_html(text: &str) -> String {
    let has_markup = [
        "<p", "<br", "<div", "<P", "<BR", "<DIV", "<h2", "<ul", "<figure",
    ]
    .iter()
    .any(|tag| text.contains(tag));
    if has_markup {
        return text.to_string();
    }
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| format!("<p>{line}</p>"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<rss version="2.0" xmlns:yandex="http://news.yandex.ru" xmlns:turbo="http://turbo.yandex.ru"><channel>
<item><title>Один</title><link>https://a.ru/1</link><guid>a-1</guid><description>Лид.</description>
<yandex:full-text>Первый абзац &amp; &laquo;кавычки&raquo; &#8213; тире.

Второй абзац.</yandex:full-text></item>
<item><title>Два</title><link>https://a.ru/2</link><description>Лид два.</description>
<turbo:content><![CDATA[<header><h1>Два</h1></header><p>Полный <b>текст</b> второй новости.</p>]]></turbo:content></item>
<item><title>Три</title><link>https://a.ru/3</link><description>Без расширений.</description></item>
</channel></rss>"#;

    fn items() -> Vec<RawItem> {
        ["1", "2", "3"]
            .iter()
            .map(|n| RawItem {
                link: Some(format!("https://a.ru/{n}")),
                summary_html: Some("Лид.".into()),
                ..RawItem::default()
            })
            .collect()
    }

    #[test]
    fn full_text_becomes_the_content() {
        let mut items = items();
        merge_full_texts(FEED, &mut items);
        assert_eq!(
            items[0].content_html.as_deref(),
            Some("<p>Первый абзац &amp; &laquo;кавычки&raquo; ― тире.</p><p>Второй абзац.</p>")
        );
        assert_eq!(
            items[1].content_html.as_deref(),
            Some("<header><h1>Два</h1></header><p>Полный <b>текст</b> второй новости.</p>")
        );
        assert_eq!(items[2].content_html, None);
    }

    #[test]
    fn items_are_matched_by_link_when_counts_differ() {
        let mut items = items();
        items.remove(0);
        merge_full_texts(FEED, &mut items);
        assert!(items[0]
            .content_html
            .as_deref()
            .is_some_and(|c| c.contains("второй новости")));
        assert_eq!(items[1].content_html, None);
    }

    #[test]
    fn broken_xml_adds_nothing_and_does_not_fail() {
        let mut items = items();
        merge_full_texts("<rss><channel><item><yandex:full-text>обрыв", &mut items);
        assert!(items.iter().all(|i| i.content_html.is_none()));
    }
}
