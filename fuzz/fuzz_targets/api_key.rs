#![no_main]
//! api-key / Ocp-Apim-Subscription-Key header handling.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut h = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(data) {
        h.append("api-key", v.clone());
        if data.first().is_some_and(|b| b % 2 == 0) {
            h.append("ocp-apim-subscription-key", v);
        }
    }
    let keys = [keyrotor_auth::CandidateKey::new(
        keyrotor_types::KeySlot::Primary,
        keyrotor_types::Secret::new("0123456789abcdef0123456789abcdef".into()),
    )];
    let _ = keyrotor_auth::api_key::verify(&h, &keys);
});
