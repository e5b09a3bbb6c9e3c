//! Topic matching speed: `cargo bench --bench topics`.
//!
//! Measures, on a 1 KB Russian news entry: analysing the entry once (tokens, stems, roots) and
//! evaluating a 20-term query on the analysed entry, matching and not matching. Prints the median
//! of 31 rounds of each, in nanoseconds per operation.

use std::hint::black_box;
use std::time::Instant;

use vestnik::config::Config;
use vestnik::normalize::Entry;
use vestnik::topics::{EntryWords, Topics};

const TEXT: &str = "Ленинградская область расширяет сотрудничество ― в ходе официального визита делегации Ленобласти в Республику Беларусь губернатор Ленинградской области Александр Дрозденко особое внимание уделил важности взаимодействия в сфере поддержки социально ориентированных некоммерческих организаций.\n\n«Впервые в истории сотрудничества Ленинградской области и Республики Беларусь будет налажен обмен информацией и опытом организации инфраструктуры поддержки социально ориентированных некоммерческих организаций, в том числе ― обмен опытом развития некоммерческого сектора», ― рассказала председатель комитета общественных коммуникаций Ленинградской области Екатерина Путронен.";

const QUERY_20: &str = r#"(НКО OR "некоммерческая организация" OR волонтер* OR доброволец OR "общественная палата" OR благотворительный OR "гражданское общество" OR активист OR "президентский грант" OR землячество) AND (Беларусь OR Китай OR Казахстан OR визит OR делегация OR посол OR сотрудничество OR меморандум OR =ЕАЭС OR "дорожная карта")"#;

const QUERY_20_MISS: &str = r#"(пожар OR авария OR ДТП OR "дорожное движение" OR гололед* OR снегопад OR =МЧС OR спасатели OR погода OR ветер) AND (школа OR больница OR дорога OR мост OR "общественный транспорт" OR электричка OR автобус OR трамвай OR метро OR аэропорт)"#;

fn median_ns(rounds: usize, per_round: usize, mut op: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                op();
            }
            start.elapsed().as_nanos() as f64 / per_round as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let text: String = TEXT.chars().take(1024).collect();
    let entry = Entry {
        categories: vec!["Общество".into()],
        ..Entry::from_text(
            "lenobl",
            "Ленинградская область предложила Беларуси дружить НКО",
            &text,
        )
    };
    println!(
        "entry: {} bytes of text, {} bytes of title",
        entry.text.len(),
        entry.title.len()
    );
    let config = Config::parse(
        std::path::Path::new("bench.toml"),
        &format!("[[topic]]\nid = \"hit\"\ntitle = \"h\"\nquery = '{QUERY_20}'\n\n[[topic]]\nid = \"miss\"\ntitle = \"m\"\nquery = '{QUERY_20_MISS}'\n"),
    )
    .expect("the benchmark config parses");
    let topics = Topics::compile(&config).expect("the benchmark queries parse");
    let analyse_all = median_ns(31, 200, || {
        black_box(EntryWords::new(
            black_box(&entry),
            Some("Ленинградская область"),
        ));
    });
    let analyse = median_ns(31, 200, || {
        black_box(topics.analyse(black_box(&entry)));
    });
    let words = topics.analyse(&entry);
    let (hit, miss) = (
        topics.find("hit").expect("hit"),
        topics.find("miss").expect("miss"),
    );
    assert!(hit.matches(&words, None) && !miss.matches(&words, None));
    let matching = median_ns(31, 20_000, || {
        black_box(hit.matches(black_box(&words), None));
    });
    let not_matching = median_ns(31, 20_000, || {
        black_box(miss.matches(black_box(&words), None));
    });
    let split = median_ns(31, 200, || {
        black_box(vestnik::normalize::words::words(black_box(&entry.text)));
    });
    let stems = median_ns(31, 200, || {
        for w in vestnik::normalize::words::words(black_box(&entry.text)) {
            black_box(vestnik::normalize::words::forms(&w.folded));
        }
    });
    println!("split text into words:          {:>9.0} ns", split);
    println!("split + cached forms:           {:>9.0} ns", stems);
    println!("analyse entry, every word:      {:>9.0} ns", analyse_all);
    println!("analyse entry, topic words:     {:>9.0} ns", analyse);
    println!("20-term query, matching:        {:>9.0} ns", matching);
    println!("20-term query, not matching:    {:>9.0} ns", not_matching);
}
