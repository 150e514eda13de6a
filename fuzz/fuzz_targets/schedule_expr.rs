//! Schedule expressions (`cron()` bodies and `rate()`/`at()` bodies), as a client sends them in
//! PutRule and CreateSchedule: parsing never panics, and a parsed cron's next firing, searched
//! in UTC and in a zone with daylight saving time, is strictly after the instant asked about.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schedule_expr::{Cron, inside, parse_at, parse_rate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_rate(text);
    let _ = parse_at(text);
    let _ = inside(text, "cron(");
    let Some(cron) = Cron::parse(text) else { return };
    // 2026-03-29T00:30:00Z: the night Europe/Berlin springs forward.
    let after = 1_774_744_200_000;
    for zone in ["UTC", "Europe/Berlin", "Australia/Lord_Howe"] {
        let Ok(tz) = jiff::tz::TimeZone::get(zone) else { continue };
        if let Some(next) = cron.next_after(after, &tz) {
            assert!(next > after, "{text}: {next} is not after {after} in {zone}");
            assert_eq!(next % 60_000, 0, "{text}: firings fall on whole minutes");
        }
    }
});
