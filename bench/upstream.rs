//! A light loopback upstream for `bench/polling.sh`: `/feed/N` is source N's RSS feed of 20 items
//! in Russian, with a strong ETag, answering 304 to a matching `If-None-Match`.
//!
//! It listens on one port of many loopback addresses (127.0.0.1, 127.0.0.2, …), so the sources
//! spread over as many "hosts" and Vestnik's per-host cap works as it would on the internet.
//! One thread: the upstream should take as little of the machine as it can.
//!
//! `cargo run --release --example bench_upstream -- PORT HOSTS [ITEMS]`

use std::fmt::Write;
use std::future::IntoFuture;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().ok_or("usage: PORT HOSTS [ITEMS]")?.parse()?;
    let hosts: u8 = args.next().ok_or("usage: PORT HOSTS [ITEMS]")?.parse()?;
    let items: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app =
            Router::new().route(
                "/feed/{n}",
                get(move |Path(n): Path<u64>, headers: HeaderMap| async move {
                    feed(n, items, &headers)
                }),
            );
        let mut servers = Vec::new();
        for host in 1..=hosts {
            let listener =
                tokio::net::TcpListener::bind(("127.0.0.".to_string() + &host.to_string(), port))
                    .await?;
            servers.push(tokio::spawn(
                axum::serve(listener, app.clone()).into_future(),
            ));
        }
        println!("listening on 127.0.0.1-{hosts}:{port}");
        for server in servers {
            server.await??;
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

fn feed(n: u64, items: usize, headers: &HeaderMap) -> Response {
    let etag = format!("\"v1-{n}\"");
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"v1\""));
    if headers.get(header::IF_NONE_MATCH) == Some(&etag_value) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    let mut body = String::with_capacity(1200 * items + 400);
    let _ = write!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Районная газета №{n}</title><link>https://src{n}.example.ru/</link><description>Новости района</description><language>ru</language>"
    );
    for i in 0..items {
        let _ = write!(
            body,
            "<item><title>Новость {i} источника {n}: в районе отремонтировали дорогу и открыли новую школу</title>\
             <link>https://src{n}.example.ru/news/{i}.html?utm_source=rss</link><guid isPermaLink=\"false\">src{n}-{i}</guid>\
             <pubDate>Tue, 24 Nov 2026 {:02}:{:02}:00 +0300</pubDate><category>Общество</category>\
             <description><![CDATA[<p>Глава администрации района провёл совещание с руководителями предприятий ЖКХ. \
             Обсуждали подготовку к зиме, ремонт котельных и вывоз снега.</p><p>По словам главы, все объекты \
             будут готовы к отопительному сезону в срок, а жители получат новые квитанции до конца месяца.</p>\
             <p><a href=\"/news/{i}.html\">Подробнее</a></p>]]></description></item>",
            23 - (i % 24),
            i % 60
        );
    }
    body.push_str("</channel></rss>\n");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/rss+xml; charset=utf-8"),
            ),
            (header::ETAG, etag_value),
        ],
        body,
    )
        .into_response()
}
