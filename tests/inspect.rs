//! `vestnik inspect` on fixture files: what an operator sees before adding a source.

use std::process::Command;

fn inspect(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vestnik"))
        .current_dir(dir.path())
        .arg("inspect")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn an_article_page_is_one_clean_entry() {
    let json = inspect(&[&fixture("extraction/00-vremya-seed.html"), "--kind", "html"]);
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    let expected =
        std::fs::read_to_string(fixture("extraction/00-vremya-seed.expected.txt")).unwrap();
    assert_eq!(entry["text"], expected.trim_end());
    assert_eq!(
        entry["title"],
        "Ленинградская область предложила Беларуси дружить НКО"
    );
    assert_eq!(
        entry["canonical_url"],
        "https://vremya-kingisepp.ru/news/obshchestvo/leningradskaya-oblast-predlozhila-belarusi-druzhit-nko"
    );
    // "24.11.2026" on the page, midnight in Moscow.
    assert_eq!(entry["published"], "2026-11-23T21:00:00+00:00");
    assert_eq!(entry["language"], "ru");
    let html = entry["content_html"].as_str().unwrap();
    assert!(html.starts_with("<p>"), "{html}");
    for gone in ["script", "Поделиться", "vk.com", "Реклама"] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
}

#[test]
fn a_feed_shows_clean_text_canonical_links_and_dates() {
    let json = inspect(&[&fixture("feeds/vremya.1251.rss.xml")]);
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    let first = &entries[0];
    assert_eq!(
        first["link"],
        "https://vremya-kingisepp.ru/news/2026/11/24/lenoblast-belarus-nko.html"
    );
    assert_eq!(first["published"], "2026-11-24T11:40:00+00:00");
    let text = first["text"].as_str().unwrap();
    assert_eq!(text.split("\n\n").count(), 4, "{text}");
    assert!(!text.contains("Присоединяйтесь"), "{text}");
}
