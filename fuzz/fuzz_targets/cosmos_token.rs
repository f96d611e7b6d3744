#![no_main]
//! Cosmos `authorization` header parsing and full verification.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = keyrotor_auth::cosmos::parse_token(s);
        let mut h = http::HeaderMap::new();
        if let Ok(v) = s.parse() {
            h.insert("authorization", v);
            h.insert("x-ms-date", http::HeaderValue::from_static("Thu, 27 Apr 2017 00:51:12 GMT"));
            let _ = keyrotor_auth::cosmos::verify(&http::Method::GET, "/dbs", &h, keyrotor_auth::cosmos::Access::Read, &[], 1_493_254_272);
            let _ = keyrotor_auth::cosmos::ResourcePath::parse(s).map(|p| (p.resource_type().len(), p.resource_link().len()));
        }
    }
});
