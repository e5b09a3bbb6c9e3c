//! Topic queries as operators (or a bad merge) write them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = vestnik::topics::query::parse(query) {
        let _ = vestnik::topics::query::terms(&parsed);
    }
});
