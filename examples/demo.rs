//! `cargo run --release --example demo`: Vestnik on realistic regional sources, with no internet.
//!
//! Starts a loopback "internet" serving four fixture sources — the regional government's RSS with
//! `yandex:full-text`, a district paper's RSS in windows-1251 with its site chrome, an agency's
//! Atom feed and a Belarusian agency's JSON Feed, three of them carrying the same press release —
//! then runs the daemon on them with the topics of the shipped `feeds.toml`, and prints what to
//! open. Ctrl-C stops both.

use std::net::SocketAddr;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use vestnik::config::Config;

const SOURCES: &[(&str, &str, &str, &str, &[u8])] = &[
    (
        "lenobl",
        "Ленинградская область — официальный портал",
        "/lenobl/rss/",
        "application/rss+xml; charset=utf-8",
        include_bytes!("../tests/fixtures/feeds/lenobl.rss.xml"),
    ),
    (
        "vremya",
        "Газета «Время» (Кингисепп)",
        "/vremya/rss/",
        "text/xml",
        include_bytes!("../tests/fixtures/feeds/vremya.1251.rss.xml"),
    ),
    (
        "news47",
        "47news",
        "/news47/atom/",
        "application/atom+xml",
        include_bytes!("../tests/fixtures/feeds/news47.atom.xml"),
    ),
    (
        "belta",
        "БелТА",
        "/belta/feed.json",
        "application/feed+json",
        include_bytes!("../tests/fixtures/feeds/belta.json"),
    ),
];

const SHIPPED_CONFIG: &str = include_str!("../feeds.toml");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "vestnik=info".into()))
        .init();

    let upstream = serve_sources().await?;
    let listen = free_address("127.0.0.1:8080").await?;
    let data_dir = tempfile::tempdir()?;
    let config = demo_config(upstream, listen, data_dir.path())?;

    println!("Vestnik demo: four regional sources on http://{upstream}/ (loopback only), the daemon on http://{listen}/");
    println!();
    println!("  dashboard       http://{listen}/");
    for topic in config.topic_ids() {
        println!("  {topic:<15} http://{listen}/feeds/{topic}.rss   .atom   .json");
    }
    println!("  health          http://{listen}/healthz");
    println!();
    println!("Subscribe a feed reader to any of these. Ctrl-C stops the demo; its store is a temporary directory.");

    vestnik::daemon::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// The fixture sources on a loopback port.
async fn serve_sources() -> anyhow::Result<SocketAddr> {
    let mut app = Router::new();
    for (_, _, path, content_type, body) in SOURCES {
        app = app.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, *content_type)], *body) }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The preferred address when it is free, else any free loopback port.
async fn free_address(preferred: &str) -> anyhow::Result<SocketAddr> {
    let listener = match tokio::net::TcpListener::bind(preferred).await {
        Ok(listener) => listener,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    };
    Ok(listener.local_addr()?)
}

/// The shipped topics over the fixture sources.
fn demo_config(
    upstream: SocketAddr,
    listen: SocketAddr,
    data_dir: &std::path::Path,
) -> anyhow::Result<Config> {
    let mut text = format!(
        "[settings]\nlisten = \"{listen}\"\ndata_dir = \"{}\"\nbase_url = \"http://{listen}\"\ninterval = \"1m\"\n# The fixtures carry fixed dates: keep them however old they get.\nretention = \"36500d\"\n\n",
        data_dir.display()
    );
    for (id, title, path, _, _) in SOURCES {
        let priority = if *id == "lenobl" || *id == "belta" {
            10
        } else {
            0
        };
        text.push_str(&format!("[[source]]\nid = \"{id}\"\ntitle = \"{title}\"\nurl = \"http://{upstream}{path}\"\npriority = {priority}\n\n"));
    }
    let topics = SHIPPED_CONFIG
        .find("[[topic]]")
        .map(|at| &SHIPPED_CONFIG[at..])
        .unwrap_or_default();
    text.push_str(topics);
    Config::parse(std::path::Path::new("demo.toml"), &text).map_err(|errors| {
        anyhow::anyhow!(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"))
    })
}
