#![no_main]
//! Batch SharedKey: Authorization parsing and canonicalization of path,
//! query and headers taken from the input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let mut parts = s.splitn(4, '\n');
    let (auth, path, query, header) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"), parts.next(), parts.next().unwrap_or(""));
    let _ = keyrotor_auth::shared_key::parse_authorization(auth);
    let mut h = http::HeaderMap::new();
    if let Ok(v) = auth.parse() {
        h.insert("authorization", v);
    }
    if let Some((k, v)) = header.split_once(':') {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), v.parse()) {
            h.append(k, v);
        }
    }
    let _ = keyrotor_auth::shared_key::string_to_sign(&http::Method::POST, &h, "acct", path, query);
    let _ = keyrotor_auth::shared_key::verify(&http::Method::GET, path, query, &h, "acct", &[], 0);
});
