//! Sans-IO, deterministic verifiers of the data-plane auth schemes.
//!
//! Each scheme takes the request's method, URI and headers, the candidate
//! keys of the addressed account and the current time, and returns which key
//! slot signed the request. Nothing here does I/O or reads a clock; key
//! lookup and usage recording are the caller's business.
//!
//! One file per scheme: [`cosmos`] (master-key tokens), [`shared_key`]
//! (Batch SharedKey), [`api_key`] (`api-key` / `Ocp-Apim-Subscription-Key`).

pub mod api_key;
pub mod cosmos;
pub mod shared_key;

use base64::Engine as _;
use keyrotor_types::{KeySlot, Secret};
use ring::hmac;

/// Why a request was not authenticated. Messages never contain key material
/// or the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request carries no credentials")]
    Missing,
    #[error("the '{0}' header appears more than once")]
    Duplicate(&'static str),
    #[error("the authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the request date header is missing")]
    MissingDate,
    #[error("the request date is not valid at the current time")]
    DateOutOfWindow,
    #[error("the signature or key does not match any current key")]
    BadSignature,
    #[error("the account name in the credentials does not match the account addressed")]
    WrongAccount,
    #[error("a read-only key cannot authorize this operation")]
    ReadOnlyKey,
}

/// Accepted clock skew for request dates, both ways (Azure parity: 15 minutes).
pub const DATE_WINDOW: time::Duration = time::Duration::minutes(15);

/// One current key of an account, prepared for verification.
pub struct CandidateKey {
    pub slot: KeySlot,
    /// The key text as handed out (for api-key comparison).
    pub text: Secret,
    /// HMAC-SHA256 keyed with the base64-decoded key, when the key is base64.
    pub hmac: Option<hmac::Key>,
}

impl std::fmt::Debug for CandidateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidateKey")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl CandidateKey {
    pub fn new(slot: KeySlot, text: Secret) -> Self {
        let hmac = base64::engine::general_purpose::STANDARD
            .decode(text.expose())
            .ok()
            .map(|raw| hmac::Key::new(hmac::HMAC_SHA256, &raw));
        Self { slot, text, hmac }
    }
}

/// A request that passed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub slot: KeySlot,
}

pub static AUTHORIZATION: http::HeaderName = http::header::AUTHORIZATION;
pub static DATE: http::HeaderName = http::header::DATE;
pub static X_MS_DATE: http::HeaderName = http::HeaderName::from_static("x-ms-date");
pub static HOST: http::HeaderName = http::header::HOST;
pub static USER_AGENT: http::HeaderName = http::header::USER_AGENT;

/// The values of a few headers, found in one pass over the request's
/// headers: with four or more names wanted, cheaper than a map lookup per
/// name (each hashes the name and probes).
pub struct HeaderScan<'a, const N: usize> {
    names: &'static [&'static http::HeaderName; N],
    first: [Option<&'a http::HeaderValue>; N],
    repeated: [bool; N],
}

impl<'a, const N: usize> HeaderScan<'a, N> {
    pub fn new(
        headers: &'a http::HeaderMap,
        names: &'static [&'static http::HeaderName; N],
    ) -> Self {
        let mut first = [None; N];
        let mut repeated = [false; N];
        for (name, value) in headers {
            if let Some(i) = names.iter().position(|n| *n == name) {
                if first[i].is_some() {
                    repeated[i] = true;
                } else {
                    first[i] = Some(value);
                }
            }
        }
        Self {
            names,
            first,
            repeated,
        }
    }

    /// The value of the `i`-th name for something a signature or credential
    /// covers: refused when repeated (never joined, so no two readings of
    /// one request exist) or not text.
    pub fn single(&self, i: usize) -> Result<Option<&'a str>, AuthError> {
        if self.repeated.get(i).copied().unwrap_or(false) {
            return Err(AuthError::Duplicate(
                self.names.get(i).map_or("", |n| n.as_str()),
            ));
        }
        self.first
            .get(i)
            .copied()
            .flatten()
            .map(|v| {
                v.to_str()
                    .map_err(|_| AuthError::Malformed("a header is not valid text"))
            })
            .transpose()
    }

    /// Whether the request has the `i`-th header at all (text or not).
    pub fn present(&self, i: usize) -> bool {
        self.first.get(i).is_some_and(Option::is_some)
    }

    /// The first value of the `i`-th name, if it is text (informational
    /// headers such as `User-Agent`).
    pub fn first(&self, i: usize) -> Option<&'a str> {
        self.first
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| v.to_str().ok())
    }
}

/// Unix seconds of an RFC 1123 date.
fn unix_seconds(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value).ok()?;
    i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// Checks an RFC 1123 date against `now` (Unix seconds) within
/// [`DATE_WINDOW`].
pub(crate) fn check_date(value: &str, now: i64) -> Result<(), AuthError> {
    let secs = unix_seconds(value).ok_or(AuthError::DateOutOfWindow)?;
    if secs.abs_diff(now) > DATE_WINDOW.unsigned_abs().as_secs() {
        return Err(AuthError::DateOutOfWindow);
    }
    Ok(())
}

/// Verifies `sig` (base64 text) as HMAC-SHA256 of `message` under each
/// candidate key; each tag comparison is constant-time. The search stops at
/// the first match: how many keys were tried reveals only which key a
/// *valid* signature used, which its signer already knows; an invalid
/// signature is always checked against every key.
pub(crate) fn match_hmac(keys: &[CandidateKey], message: &[u8], sig_b64: &str) -> Option<KeySlot> {
    // Each tag is base64-encoded and compared with the text as sent, which
    // is cheaper than decoding the text and equivalent: the engine accepts
    // only canonical base64 (padding required, no stray trailing bits), so
    // `sig_b64` decodes to a tag exactly when it is that tag's encoding
    // (a test checks this on non-canonical spellings).
    let sig = sig_b64.as_bytes();
    keys.iter()
        .find(|k| {
            k.hmac.as_ref().is_some_and(|h| {
                let tag = hmac::sign(h, message);
                let mut text = [0u8; 88];
                base64::engine::general_purpose::STANDARD
                    .encode_slice(tag.as_ref(), &mut text)
                    .is_ok_and(|n| n == sig.len() && keyrotor_types::ct_eq(&text[..n], sig))
            })
        })
        .map(|k| k.slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyrotor_types::Secret;

    #[test]
    fn header_scan_reads_each_name_once_and_flags_repeats() {
        static NAMES: [&http::HeaderName; 3] = [&AUTHORIZATION, &X_MS_DATE, &USER_AGENT];
        let mut h = http::HeaderMap::new();
        h.append("x-ms-date", http::HeaderValue::from_static("d1"));
        h.append("x-ms-date", http::HeaderValue::from_static("d2"));
        h.append("user-agent", http::HeaderValue::from_static("ua1"));
        h.append("user-agent", http::HeaderValue::from_static("ua2"));
        h.append("other", http::HeaderValue::from_static("x"));
        let scan = HeaderScan::new(&h, &NAMES);
        assert_eq!(scan.single(0), Ok(None));
        assert_eq!(scan.single(1), Err(AuthError::Duplicate("x-ms-date")));
        assert_eq!(scan.first(2), Some("ua1"));
        assert_eq!(scan.single(7), Ok(None));
        let mut h = http::HeaderMap::new();
        h.insert(
            "authorization",
            http::HeaderValue::from_bytes(b"caf\xe9")
                .expect("opaque bytes are a valid header value"),
        );
        let scan = HeaderScan::new(&h, &NAMES);
        assert!(matches!(scan.single(0), Err(AuthError::Malformed(_))));
        assert_eq!(scan.first(0), None);
        assert!(scan.present(0) && !scan.present(1));
    }

    /// `match_hmac` compares encodings; it must accept exactly what decoding
    /// would: the canonical text, and nothing that merely decodes alike.
    #[test]
    fn signatures_compare_as_canonical_base64() {
        let key = CandidateKey::new(
            KeySlot::Primary,
            Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==".into()),
        );
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key.text.expose())
            .unwrap_or_default();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &raw), b"message");
        let good = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
        let keys = [key];
        assert_eq!(match_hmac(&keys, b"message", &good), Some(KeySlot::Primary));
        assert_eq!(match_hmac(&keys, b"other", &good), None);
        // 32 bytes encode to 43 characters and one '='; the last character
        // carries 2 unused bits. Other spellings of the same bytes, which a
        // canonical decoder also refuses:
        let stem = good.trim_end_matches('=');
        let last = stem.as_bytes()[stem.len() - 1];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pos = alphabet.iter().position(|&c| c == last).unwrap_or(0);
        let stray = char::from(alphabet[pos ^ 1]); // flips an unused bit
        for variant in [
            stem.to_string(),                               // no padding
            format!("{stem}=="),                            // too much padding
            format!("{}{stray}=", &stem[..stem.len() - 1]), // stray trailing bits
            format!(" {good}"),
            good.to_lowercase(),
        ] {
            assert!(
                base64::engine::general_purpose::STANDARD
                    .decode(&variant)
                    .map_or(true, |d| d != tag.as_ref()),
                "{variant} decodes to the tag"
            );
            assert_eq!(match_hmac(&keys, b"message", &variant), None, "{variant}");
        }
    }
}
