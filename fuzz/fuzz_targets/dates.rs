//! Dates as sources write them, in every time zone Vestnik meets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    for tz in [
        chrono_tz::Europe::Moscow,
        chrono_tz::Europe::Minsk,
        chrono_tz::UTC,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::America::St_Johns,
    ] {
        let _ = vestnik::normalize::dates::parse_date(text, tz, now);
    }
});
