#![no_main]
//! Key Vault object attributes from a request body, then what the core
//! computes from accepted ones (validity now, a policy's trigger before the
//! expiry): an accepted attribute never makes the core panic.
use libfuzzer_sys::fuzz_target;
use keyrotor_core::vault::IsoDuration;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Some(a) = keyrotor_dataplane::fuzzing::vault_attributes(s) else { return };
    let _ = a.is_enabled();
    for t in [a.not_before, a.expires].into_iter().flatten() {
        let t = OffsetDateTime::from_unix_timestamp(t).expect("accepted times are in the calendar");
        for p in ["P7D", "P1Y", "P99Y", "PT1S"] {
            let d = IsoDuration::parse(p).expect("duration");
            let _ = (d.before(t), d.after(t));
        }
    }
});
