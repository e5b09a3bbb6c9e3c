//! Input written by strangers: XSS vectors in every field of every kind of source must come out
//! inert in every output feed and on the dashboard; XML bombs must neither expand nor grow
//! memory; the HTTP server must bound header size, request time and connections (and, so that
//! one connection cannot hold up the rest, spread connections over its threads and stop cleanly).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{load, Reply, Upstream};
use vestnik::serve::limits::{self, Limits};

fn vectors() -> Vec<String> {
    let text = String::from_utf8(common::fixture("hostile/xss.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rss(vectors: &[String]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Hostile RSS</title><link>http://rss.example/</link><description>d</description>\n",
    );
    for (i, v) in vectors.iter().enumerate() {
        // Title and description carry the vector as HTML; the link is the vector itself.
        xml.push_str(&format!(
            "<item><title>RSS-новость {i}: {}</title><link>{}</link><guid isPermaLink=\"false\">r{i}</guid><description><![CDATA[<p>Сообщение ленты номер {i} о районе.</p>{v}]]></description></item>\n",
            xml_escape(v),
            xml_escape(v)
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

fn atom(vectors: &[String]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Hostile Atom</title><id>urn:h</id><updated>2026-11-01T10:00:00Z</updated>\n",
    );
    for (i, v) in vectors.iter().enumerate() {
        xml.push_str(&format!(
            "<entry><title type=\"html\">Atom-заметка {i}: {e}</title><id>urn:a{i}</id><link href=\"{e}\"/><updated>2026-11-01T10:00:00Z</updated><summary type=\"html\">{e}</summary><content type=\"html\">&lt;p&gt;Атом номер {i}.&lt;/p&gt;{e}</content></entry>\n",
            e = xml_escape(v)
        ));
    }
    xml.push_str("</feed>\n");
    xml.into_bytes()
}

fn json_feed(vectors: &[String]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::json!({
                "id": format!("j{i}"),
                "url": v,
                "title": format!("JSON-материал {i}: {v}"),
                "content_html": format!("<p>Материал JSON {i}.</p>{v}"),
                "summary": v,
                "date_published": "2026-11-01T10:00:00Z",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Hostile JSON",
        "items": items,
    }))
    .unwrap()
}

fn html_list(vectors: &[String]) -> Vec<u8> {
    let mut html = String::from("<html><head><title>Новости</title></head><body>\n");
    for (i, v) in vectors.iter().enumerate() {
        html.push_str(&format!(
            "<div class=\"news-item\"><a class=\"title\" href=\"{}\">Страница {i}: {v}</a><div class=\"lead\">Заметка со страницы {i}. {v}</div></div>\n",
            xml_escape(v)
        ));
    }
    html.push_str("</body></html>\n");
    html.into_bytes()
}

const BAD_SCHEMES: &[&str] = &["javascript:", "vbscript:", "data:", "livescript:"];
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "dynsrc",
    "lowsrc",
    "data",
    "xlink:href",
    "poster",
    "srcset",
    "code",
    "codebase",
    "srcdoc",
];
const ACTIVE_ELEMENTS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "link", "meta",
    "base", "form", "input", "button", "textarea", "select", "isindex", "keygen", "svg", "math",
    "bgsound", "xml", "template", "noscript", "xss", "video", "audio", "marquee",
];

fn bad_url(value: &str) -> bool {
    let folded: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    BAD_SCHEMES.iter().any(|s| folded.starts_with(s))
}

/// Fails when `html`, read as HTML the way a feed reader or browser would, holds anything that
/// could run: active elements, event handlers, script URLs, CSS expressions.
fn assert_inert(html: &str, whence: &str) {
    let fragment = scraper::Html::parse_fragment(html);
    for node in fragment.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        let name = element.name().to_ascii_lowercase();
        assert!(
            !ACTIVE_ELEMENTS.contains(&name.as_str()),
            "{whence}: <{name}> survived in {html:?}"
        );
        for (attr, value) in element.attrs() {
            let attr = attr.to_ascii_lowercase();
            assert!(
                !attr.starts_with("on"),
                "{whence}: event handler {attr} survived in {html:?}"
            );
            if URL_ATTRIBUTES.contains(&attr.as_str()) {
                assert!(
                    !bad_url(value),
                    "{whence}: {attr}={value:?} survived in {html:?}"
                );
            }
            if attr == "style" {
                let v = value.to_ascii_lowercase();
                assert!(
                    !["expression", "url(", "behavior", "binding", "position"]
                        .iter()
                        .any(|bad| v.contains(bad)),
                    "{whence}: style {value:?} survived"
                );
            }
        }
    }
}

/// Every text node and attribute of an XML feed, unescaped, must be inert as HTML and no URL
/// may use a script scheme.
fn assert_inert_xml(xml: &str, whence: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut texts = 0;
    let mut element = String::new();
    // Text and the references inside it come as separate events: joined, they are what a
    // reader gets.
    let mut text = String::new();
    // Atom's type="text" is plain text by definition: shown literally, never parsed. Titles
    // are held to HTML rules whatever their type (RSS readers often render them as HTML).
    let mut plain = false;
    let check = |text: &mut String, element: &str, plain: bool, texts: &mut usize| {
        if text.is_empty() {
            return;
        }
        assert!(!bad_url(text), "{whence}: text {text:?} in <{element}>");
        if !plain || element == "title" {
            assert_inert(text, &format!("{whence} <{element}>"));
        }
        *texts += 1;
        text.clear();
    };
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Text(t)) => {
                let raw: &str = &t;
                text.push_str(&quick_xml::escape::unescape(raw).unwrap());
            }
            Ok(quick_xml::events::Event::CData(t)) => text.push_str(&t),
            Ok(quick_xml::events::Event::GeneralRef(r)) => {
                let name = r[..].to_string();
                let resolved = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    _ => {
                        let code = name
                            .strip_prefix("#x")
                            .map(|h| u32::from_str_radix(h, 16))
                            .or_else(|| name.strip_prefix('#').map(str::parse))
                            .unwrap_or_else(|| panic!("{whence}: entity &{name}; in output"))
                            .unwrap();
                        char::from_u32(code).unwrap().to_string()
                    }
                };
                text.push_str(&resolved);
            }
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                check(&mut text, &element, plain, &mut texts);
                element = e.name().as_ref().to_string();
                // In Atom, text constructs without a type are type="text".
                plain = whence.ends_with(".atom")
                    && ["summary", "content", "subtitle", "rights"].contains(&element.as_str());
                for attr in e.attributes() {
                    let attr = attr.unwrap();
                    let raw: &str = &attr.value;
                    let value = quick_xml::escape::unescape(raw).unwrap();
                    if attr.key.as_ref() == "type" {
                        plain = value == "text";
                    }
                    assert!(!bad_url(&value), "{whence}: attribute {value:?}");
                }
            }
            Ok(quick_xml::events::Event::End(_)) => check(&mut text, &element, plain, &mut texts),
            Ok(_) => {}
            Err(e) => panic!("{whence}: the output feed is not well-formed XML: {e}"),
        }
    }
    assert!(texts > 100, "{whence}: only {texts} text nodes");
}

fn assert_inert_json(value: &serde_json::Value, key: &str, whence: &str) {
    match value {
        serde_json::Value::String(s) => {
            assert!(!bad_url(s), "{whence}: {key}: {s:?}");
            // JSON Feed's content_text and summary are plain text by definition.
            if !matches!(key, "content_text" | "summary") {
                assert_inert(s, &format!("{whence} {key}"));
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| assert_inert_json(v, key, whence)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| assert_inert_json(v, k, whence)),
        _ => {}
    }
}

/// The two tests that poll many items run one at a time, so that the bomb test's peak memory
/// is its own.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_vectors_come_out_inert_in_every_feed_and_on_the_dashboard() {
    let _heavy = HEAVY.lock().await;
    let vectors = vectors();
    assert!(vectors.len() >= 100, "{} vectors", vectors.len());
    let upstream = Upstream::start(vec![
        ("/rss", Reply::ok("application/rss+xml", rss(&vectors))),
        ("/atom", Reply::ok("application/atom+xml", atom(&vectors))),
        (
            "/feed.json",
            Reply::ok("application/feed+json", json_feed(&vectors)),
        ),
        (
            "/list",
            Reply::ok("text/html; charset=utf-8", html_list(&vectors)),
        ),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[settings]\nlisten = \"127.0.0.1:1\"\ndata_dir = \"data\"\nbase_url = \"http://127.0.0.1:1\"\nmax_items = 1000\nretention = \"36500d\"\n\n\
         [[source]]\nid = \"rss\"\nurl = \"{}\"\npriority = 10\n\n\
         [[source]]\nid = \"atom\"\nurl = \"{}\"\n\n\
         [[source]]\nid = \"json\"\nurl = \"{}\"\n\n\
         [[source]]\nid = \"list\"\nurl = \"{}\"\nkind = \"html\"\ntitle = \"<script>alert('source title')</script>\"\n[source.html]\nitem = \".news-item\"\ntitle = \"a.title\"\nlink = \"a.title\"\nsummary = \".lead\"\n\n\
         [[topic]]\nid = \"raion\"\ntitle = \"Район <img src=x onerror=alert(1)>\"\nquery = 'район OR номер OR атом OR материал OR заметка OR страница'\n",
        upstream.url("/rss"),
        upstream.url("/atom"),
        upstream.url("/feed.json"),
        upstream.url("/list")
    );
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, config).unwrap();
    let config = load(&path);
    let store = vestnik::daemon::open_store(&config).unwrap();
    let topics = vestnik::daemon::compile_topics(&config).unwrap();
    let reports = vestnik::daemon::poll_once(&config, &store, &topics, &config.sources, |_| {})
        .await
        .unwrap();
    for report in &reports {
        assert!(report.error.is_none(), "{report:?}");
        // A vector that is a relative link (`%3Cscript…`) is the same article in every source
        // (updated rather than inserted). Hostile markup in an HTML list page swallows the items after it (`<textarea>`,
        // `<xmp>`, unclosed tags), as in a browser: fewer items, none of them dangerous.
        assert!(
            report.inserted + report.updated >= vectors.len() / 3,
            "{report:?}"
        );
    }
    let base = common::serve(config, Arc::clone(&store)).await;

    for topic in ["all", "raion"] {
        for ext in ["rss", "atom"] {
            let url = format!("{base}/feeds/{topic}.{ext}");
            let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
            assert_inert_xml(&body, &url);
            // The items reached the feed: none was dropped to make it safe.
            if topic == "all" {
                let items = body.matches("<item>").count() + body.matches("<entry>").count();
                assert!(items >= vectors.len(), "{url}: {items} items");
            }
        }
        let url = format!("{base}/feeds/{topic}.json");
        let json: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        assert!(json["items"].as_array().unwrap().len() >= vectors.len());
        assert_inert_json(&json, "", &url);
    }

    let dashboard = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = scraper::Html::parse_document(&dashboard);
    let body = page
        .select(&scraper::Selector::parse("body").unwrap())
        .next()
        .unwrap();
    assert_inert(&body.inner_html(), "dashboard");
    assert!(
        !dashboard.to_ascii_lowercase().contains("<script"),
        "dashboard holds a script"
    );
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn billion_laughs() -> String {
    let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let prev = if level == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        doc.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    doc.push_str("]>\n<rss version=\"2.0\"><channel><title>&lol9;</title><link>http://b.example/</link><description>&lol9;</description><item><title>&lol9;</title><link>http://b.example/1</link><description>&lol9;</description></item></channel></rss>\n");
    doc
}

fn quadratic_blowup() -> String {
    let big = "x".repeat(20_000);
    let refs = "&a;".repeat(20_000);
    format!("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY a \"{big}\">]>\n<rss version=\"2.0\"><channel><title>q</title><link>http://q.example/</link><description>d</description><item><title>t</title><link>http://q.example/1</link><description>{refs}</description></item></channel></rss>\n")
}

fn external_entity() -> String {
    "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\"><!ENTITY % ext SYSTEM \"http://127.0.0.1:9/evil.dtd\"> %ext;]>\n<rss version=\"2.0\"><channel><title>x</title><link>http://x.example/</link><description>d</description><item><title>Пароли &xxe;</title><link>http://x.example/1</link><description>Файл: &xxe;</description></item></channel></rss>\n".to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_bombs_neither_expand_nor_grow_memory() {
    let _heavy = HEAVY.lock().await;
    let bombs = [
        ("/laughs", billion_laughs()),
        ("/quadratic", quadratic_blowup()),
        ("/xxe", external_entity()),
    ];
    let upstream = Upstream::start(
        bombs
            .iter()
            .map(|(p, b)| (*p, Reply::ok("application/rss+xml", b.clone().into_bytes())))
            .collect(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let named: Vec<(&str, String)> = bombs
        .iter()
        .map(|(p, _)| (&p[1..], upstream.url(p)))
        .collect();
    let path = common::write_config(dir.path(), "127.0.0.1:1", &named, "");
    let config = load(&path);
    let store = vestnik::daemon::open_store(&config).unwrap();
    let topics = vestnik::daemon::compile_topics(&config).unwrap();
    let before = peak_rss_kib();
    let reports = vestnik::daemon::poll_once(&config, &store, &topics, &config.sources, |_| {})
        .await
        .unwrap();
    let grown_mib = (peak_rss_kib() - before) / 1024;
    // Fully expanded, the laughs are 3 GB and the quadratic one 400 MB.
    assert!(grown_mib < 150, "memory grew by {grown_mib} MiB");
    assert_eq!(reports.len(), 3);
    for stored in store.newest() {
        let stored = stored.unwrap();
        let e = &stored.entry;
        for field in [&e.title, &e.text, &e.content_html] {
            // Unexpanded, a field holds the 60 KB of references the bomb sent, escaped as
            // `&amp;a;` in sanitized HTML: 140 KB.
            assert!(
                field.len() < 200_000,
                "an entity was expanded: {} bytes",
                field.len()
            );
            assert!(!field.contains("lollol"), "an entity was expanded");
            assert!(!field.contains(&"x".repeat(1000)), "an entity was expanded");
            assert!(!field.contains("root:"), "an external entity was read");
        }
    }
    // The same through the parser alone.
    for (name, bomb) in &bombs {
        let dates = vestnik::ingest::date_parser(chrono_tz::Europe::Moscow, chrono::Utc::now());
        if let Ok(feed) = vestnik::parse::parse_feed(bomb, None, dates) {
            for item in &feed.items {
                let debug = format!("{item:?}");
                assert!(debug.len() < 200_000, "{name}: expanded to {}", debug.len());
                assert!(!debug.contains("lollol"), "{name}: expanded");
                assert!(!debug.contains(&"x".repeat(1000)), "{name}: expanded");
                assert!(!debug.contains("root:"), "{name}: read /etc/passwd");
            }
        }
    }
}

async fn hardened_server(
    limits: Limits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let router = axum::Router::new()
        .route("/feeds/all.rss", axum::routing::get(|| async { "<rss/>" }))
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(limits::serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the connection or `limit` passes; returns what was read and
/// whether it closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_do_not_starve_feed_readers() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(2),
        max_connections: 64,
        ..Limits::default()
    };
    let (addr, _stop) = hardened_server(limits).await;
    // 50 clients send a request head one byte at a time, never finishing it.
    let slow: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    let dripping = std::thread::spawn(move || {
        let mut slow = slow;
        for _ in 0..6 {
            for s in &mut slow {
                let _ = s.write_all(b"X");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        slow
    });
    // Meanwhile readers are served; and once the head timeout passes, more readers than the
    // connection limit leaves room for are served too.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..20 {
        let response = client
            .get(format!("http://{addr}/feeds/all.rss"))
            .send()
            .await
            .expect("a feed reader was starved by slow clients");
        assert_eq!(response.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut slow = tokio::task::spawn_blocking(move || dripping.join().unwrap())
        .await
        .unwrap();
    // Each slow client was cut off at the head timeout instead of holding its connection.
    let closed = tokio::task::spawn_blocking(move || {
        slow.iter_mut()
            .map(|s| read_until_closed(s, Duration::from_secs(5)).1)
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 50, "slow clients still hold connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_holds_and_frees_on_timeout() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 4,
        ..Limits::default()
    };
    let (addr, _stop) = hardened_server(limits).await;
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    // A fifth client waits in the backlog until the idle ones are cut off, then is served.
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(format!("http://{addr}/feeds/all.rss"))
        .send()
        .await
        .expect("served once the idle connections timed out");
    assert_eq!(response.status(), 200);
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_slow_handlers_are_refused() {
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, _stop) = hardened_server(limits).await;
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let big = "a".repeat(100 * 1024);
        let _ = s.write_all(
            format!("GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes(),
        );
        read_until_closed(&mut s, Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(
        answer.0.starts_with("HTTP/1.1 431") || (answer.0.is_empty() && answer.1),
        "a 100 KB header was accepted: {:?}",
        answer.0.lines().next()
    );
    let many = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
        let _ = s.write_all(
            format!("GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes(),
        );
        read_until_closed(&mut s, Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(
        !many.0.starts_with("HTTP/1.1 200"),
        "200 header lines were accepted"
    );
    let slow = reqwest::get(format!("http://{addr}/slow")).await.unwrap();
    assert_eq!(slow.status(), 408);
}

/// A server whose one route answers with the name of the thread that served it, after `delay`;
/// returns its address, its stop signal and the task that serves.
async fn thread_naming_server(
    delay: Duration,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let router = axum::Router::new().route(
        "/thread",
        axum::routing::get(move || async move {
            tokio::time::sleep(delay).await;
            std::thread::current().name().unwrap_or("").to_string()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(limits::serve(
        listener,
        router,
        Limits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, serving)
}

/// Connections are spread over the server's threads (one per core), so that one busy
/// connection's thread does not hold up the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_served_on_every_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (addr, _stop, _serving) = thread_naming_server(Duration::ZERO).await;
    let mut threads = std::collections::BTreeSet::new();
    for _ in 0..cores * 2 {
        // A client of its own for each request: a new connection each time.
        let name = reqwest::Client::new()
            .get(format!("http://{addr}/thread"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        threads.insert(name);
    }
    let expected: std::collections::BTreeSet<String> =
        (0..cores).map(|n| format!("vestnik-http-{n}")).collect();
    assert_eq!(threads, expected);
}

/// Stopping the server answers the requests in flight, refuses new connections and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_requests_in_flight() {
    let (addr, stop, serving) = thread_naming_server(Duration::from_millis(600)).await;
    let in_flight = tokio::spawn(reqwest::get(format!("http://{addr}/thread")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let answer = in_flight.await.unwrap().expect("answered after the stop");
    assert_eq!(answer.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the server ends once its requests are answered")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "a connection was accepted after the stop"
    );
}
