#![no_main]
//! ARM path splitting/decoding and operation routing.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(segs) = keyrotor_arm::operation::split_path(s) {
        for m in [http::Method::GET, http::Method::PUT, http::Method::POST, http::Method::DELETE, http::Method::HEAD, http::Method::PATCH] {
            if let Ok(op) = keyrotor_arm::operation::Operation::parse(&m, &segs) {
                let _ = op.required_action();
            }
        }
    }
});
