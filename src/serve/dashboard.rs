//! The operator's page at `/`: server-rendered, no JavaScript, everything a source wrote escaped.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;

const NEWEST_PER_TOPIC: usize = 5;

pub(super) async fn page(State(state): State<Arc<AppState>>) -> Html<String> {
    let page = tokio::task::spawn_blocking(move || render(&state)).await;
    Html(page.unwrap_or_else(|e| {
        format!(
            "<!doctype html><p>cannot render the dashboard: {}</p>",
            text(&e.to_string())
        )
    }))
}

fn render(state: &AppState) -> String {
    let (config, topics) = state.current();
    let mut html = String::with_capacity(16 * 1024);
    html.push_str(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Vestnik</title>",
    );
    html.push_str("<style>body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}.failing,.disabled{color:#b00}.ok{color:#070}</style>");
    html.push_str("</head><body><h1>Vestnik</h1>");
    let errors = state.config_errors();
    if !errors.is_empty() {
        html.push_str("<section id=\"config-errors\" class=\"failing\"><h2>Configuration errors</h2><p>The last edit was refused; the configuration before it still runs.</p><ul>");
        for error in &errors {
            let _ = write!(html, "<li><code>{}</code></li>", text(error));
        }
        html.push_str("</ul></section>");
    }
    let _ = write!(
        html,
        "<p>Feeds for a reader: <a href=\"/opml\">OPML</a> · <a href=\"/healthz\">health</a> · <a href=\"/metrics\">metrics</a></p>"
    );
    let _ = write!(
        html,
        "<p>{} entries stored; running since {}.</p><h2>Sources</h2><table id=\"sources\"><tr><th>source</th><th>status</th><th>last success</th><th>last error</th><th>next poll</th><th>interval</th><th>items</th><th>stored</th><th>current URL</th></tr>",
        state.store.entry_count(),
        state.started.format("%Y-%m-%d %H:%M UTC")
    );
    for source in &config.sources {
        let source_state = state.source_state(source);
        let status = source_state.status().as_str();
        let when = |d: Option<chrono::DateTime<chrono::Utc>>| {
            d.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "—".into())
        };
        // What the operator has to act on: a source gone for good, or moved for good.
        let mut notes = source_state.last_error.clone().unwrap_or_default();
        if let Some(reason) = &source_state.disabled {
            notes = reason.clone();
        }
        if let Some(moved) = &source_state.current_url {
            notes = format!("{notes} moved permanently to {moved}: update feeds.toml")
                .trim()
                .to_string();
        }
        // The interval in force once polled; the configured one before.
        let every = match source_state.interval_secs {
            0 => interval(source.interval),
            secs => crate::config::ConfigDuration::secs(secs).to_string(),
        };
        let _ = write!(
            html,
            "<tr data-source=\"{}\"><td><a href=\"{}\">{}</a></td><td class=\"{status}\">{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            attr(&source.id),
            attr(source.url.as_str()),
            text(source.title.as_deref().unwrap_or(&source.id)),
            when(source_state.last_success),
            text(&notes),
            when(source_state.next_due),
            every,
            source_state.items_seen,
            source_state.entries_stored,
            text(source_state.current_url.as_deref().unwrap_or(source.url.as_str())),
        );
    }
    html.push_str("</table><h2>Topics</h2>");
    for topic in topics.feeds() {
        let _ = write!(
            html,
            "<h3 id=\"topic-{}\">{}</h3><p class=\"feeds\">",
            attr(&topic.id),
            text(&topic.title)
        );
        for ext in ["rss", "atom", "json"] {
            let _ = write!(
                html,
                "<a href=\"/feeds/{}.{ext}\">{ext}</a> ",
                attr(&topic.id)
            );
        }
        html.push_str("</p><ul>");
        for story in topic
            .select(&state.store, NEWEST_PER_TOPIC, topics.priorities())
            .unwrap_or_default()
        {
            let entry = &story.primary.entry;
            let also = if story.others.is_empty() {
                String::new()
            } else {
                format!(" · +{} outlets", story.others.len())
            };
            let _ = write!(
                html,
                "<li><a href=\"{}\">{}</a> <small>{} · {}{also} · story {}</small></li>",
                attr(entry.link.as_deref().unwrap_or("#")),
                text(&entry.title),
                text(&entry.source_id),
                entry.published.format("%Y-%m-%d %H:%M UTC"),
                text(story.id.as_str()),
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("</body></html>");
    html
}

/// A poll interval as configured: `90s`, `15m`, `6h`.
fn interval(every: std::time::Duration) -> String {
    let secs = every.as_secs();
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
