#![no_main]
//! Cosmos resource type/link derivation from request paths.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some((ty, link)) = keyrotor_auth::cosmos::resource_of(s) {
            let _ = keyrotor_auth::cosmos::string_to_sign("get", &ty, &link, "d", "");
        }
    }
});
