//! What the data-plane benches share: signing requests as the SDKs do.

use base64::Engine as _;

/// HMAC-SHA256 of `msg` under the base64 key `key_b64`, in base64 (the
/// signature of Cosmos DB master-key and Batch SharedKey requests).
pub fn hmac_b64(key_b64: &str, msg: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(key_b64).unwrap_or_default();
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &raw);
    b64.encode(ring::hmac::sign(&k, msg.as_bytes()).as_ref())
}

/// The `authorization` header of a Cosmos DB master-key request, URL-encoded
/// as the SDKs send it; the arguments go to the string to sign as given.
pub fn cosmos_master_auth(
    key_b64: &str,
    verb: &str,
    resource_type: &str,
    link: &str,
    date: &str,
) -> String {
    let sts = keyrotor_auth::cosmos::string_to_sign(verb, resource_type, link, date, "");
    let sig = hmac_b64(key_b64, &sts)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("type%3Dmaster%26ver%3D1.0%26sig%3D{sig}")
}
