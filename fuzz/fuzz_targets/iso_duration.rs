#![no_main]
//! ISO 8601 durations of rotation policies: parsing, display round trip,
//! and calendar arithmetic from any time in the calendar (never a panic:
//! out of range is None).
use libfuzzer_sys::fuzz_target;
use keyrotor_core::vault::IsoDuration;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Some(d) = IsoDuration::parse(s) else { return };
    assert_eq!(IsoDuration::parse(&d.to_string()), Some(d), "display round trip of {s:?}");
    let first = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
    let last = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MAX);
    let seconds = data.iter().fold(0i64, |a, b| a.wrapping_mul(31).wrapping_add(i64::from(*b)));
    let any = OffsetDateTime::from_unix_timestamp(seconds % 253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    for t in [first, last, OffsetDateTime::UNIX_EPOCH, any] {
        if let Some(later) = d.after(t) {
            assert!(later >= t);
        }
        if let Some(earlier) = d.before(t) {
            assert!(earlier <= t);
        }
    }
});
