//! Links from strangers: the reader's link and its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(link) = std::str::from_utf8(data) else {
        return;
    };
    let base = url::Url::parse("https://пример.рф/news/").ok();
    for base in [None, base.as_ref()] {
        if let Some(url) = vestnik::normalize::canonical_url::reader_link(link, base) {
            assert!(matches!(url.scheme(), "http" | "https"));
            let canonical = vestnik::normalize::canonical_url::canonical_url(&url);
            // The canonical form of the reader's link is a fixed point.
            if let Some(again) =
                vestnik::normalize::canonical_url::reader_link(url.as_str(), None)
            {
                assert_eq!(
                    vestnik::normalize::canonical_url::canonical_url(&again),
                    canonical
                );
            }
        }
    }
});
