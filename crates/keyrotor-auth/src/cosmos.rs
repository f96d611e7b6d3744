//! Cosmos DB master-key tokens (`type=master&ver=1.0&sig=...`), as the
//! azure-cosmos SDK makes them (`auth.py`, `_base.GetHeaders`).
//!
//! String to sign, UTF-8, five `\n`-terminated lines:
//! `{verb lower}\n{resourceType lower}\n{resourceLink}\n{x-ms-date lower}\n{Date lower}\n`;
//! signature = base64(HMAC-SHA256(base64decode(key), string)). The header
//! value is the whole token percent-encoded. Vectors: see the tests, taken
//! from ../shared/reference/azure-wire-facts.md §8.1 (computed with the
//! SDK's own function).

use std::borrow::Cow;

use crate::{check_date, match_hmac, AuthError, CandidateKey, HeaderScan, Verified};

/// A parsed authorization token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// `type=master&ver=1.0&sig=<base64 HMAC>`.
    Master { sig: String },
    /// `type=aad&ver=1.0&sig=<JWT>` (Entra ID bearer token).
    Aad { token: String },
    /// `type=resource&ver=1.0&sig=<token>`.
    Resource,
}

/// The `type` and `sig` fields of a decoded token, borrowed; every field
/// known, none repeated, `ver=1.0`.
fn token_fields(decoded: &str) -> Result<(Option<&str>, Option<&str>), AuthError> {
    let (mut ty, mut ver, mut sig) = (None, None, None);
    // Byte scans for the ASCII separators (short fields: cheaper than the
    // general `str` pattern searchers); slicing at them keeps UTF-8 valid.
    let bytes = decoded.as_bytes();
    let mut start = 0;
    loop {
        let end = bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'&'))
            .map_or(bytes.len(), |p| start + p);
        let part = decoded.get(start..end).unwrap_or_default();
        let eq = part
            .bytes()
            .position(|b| b == b'=')
            .ok_or(AuthError::Malformed("expected key=value pairs"))?;
        let (k, v) = (&part[..eq], &part[eq + 1..]);
        let slot = match k {
            "type" => &mut ty,
            "ver" => &mut ver,
            "sig" => &mut sig,
            _ => return Err(AuthError::Malformed("unknown token field")),
        };
        if slot.replace(v).is_some() {
            return Err(AuthError::Malformed("repeated token field"));
        }
        if end == bytes.len() {
            break;
        }
        start = end + 1;
    }
    if ver != Some("1.0") {
        return Err(AuthError::Malformed("ver must be 1.0"));
    }
    Ok((ty, sig.filter(|s| !s.is_empty())))
}

/// Percent-decodes an `authorization` header value.
/// Master-key tokens (about 90 bytes) decode into `buf` on the stack;
/// longer values (AAD tokens) onto the heap.
fn decode_header<'a>(
    value: &'a str,
    buf: &'a mut [u8; 256],
) -> Result<std::borrow::Cow<'a, str>, AuthError> {
    let value = value.trim();
    if !value.as_bytes().contains(&b'%') {
        return Ok(std::borrow::Cow::Borrowed(value));
    }
    let bad = |_| AuthError::Malformed("not UTF-8 after percent-decoding");
    if let Some(n) = crate::percent_decode_into(value.as_bytes(), buf) {
        return std::str::from_utf8(&buf[..n])
            .map(std::borrow::Cow::Borrowed)
            .map_err(bad);
    }
    let mut out = vec![0u8; value.len()];
    let n = crate::percent_decode_into(value.as_bytes(), &mut out).unwrap_or(0);
    out.truncate(n);
    String::from_utf8(out)
        .map(std::borrow::Cow::Owned)
        .map_err(|e| bad(e.utf8_error()))
}

/// How the SDKs begin a master-key token: `type` first, the whole token
/// percent-encoded (azure-cosmos) or not.
const SDK_MASTER: &str = "type=master&ver=1.0&sig=";
const SDK_MASTER_ENCODED: &str = "type%3Dmaster%26ver%3D1.0%26sig%3D";

/// Whether an `authorization` value begins as the SDKs' master-key tokens
/// do, so that a caller may skip [`parse_token`] and go straight to
/// [`verify_signed`]. Other spellings (another field order) go through
/// `parse_token`, which tells master tokens apart too.
pub fn is_sdk_master_token(value: &str) -> bool {
    let v = value.trim();
    v.starts_with(SDK_MASTER_ENCODED) || v.starts_with(SDK_MASTER)
}

/// Parses an `authorization` header value (percent-encoded or not).
pub fn parse_token(value: &str) -> Result<Token, AuthError> {
    let mut buf = [0u8; 256];
    let decoded = decode_header(value, &mut buf)?;
    let (ty, sig) = token_fields(&decoded)?;
    let sig = sig.ok_or(AuthError::Malformed("missing sig"))?.to_string();
    match ty {
        Some("master") => Ok(Token::Master { sig }),
        Some("aad") => Ok(Token::Aad { token: sig }),
        Some("resource") => Ok(Token::Resource),
        _ => Err(AuthError::Malformed("type must be master, aad or resource")),
    }
}

/// Resource type and link of a request path relative to the account root
/// (`/dbs/db1/colls/c1/docs` → (`docs`, `dbs/db1/colls/c1`)). Segments are
/// percent-decoded; `None` for paths that cannot be a Cosmos resource.
///
/// The usual path (no escapes, no empty segments, lower-case type) is
/// answered with slices of `path`: no allocation.
pub fn resource_of(path: &str) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let trimmed = path.trim_matches('/');
    if trimmed.contains('%') || trimmed.contains("//") {
        return resource_of_decoded(path).map(|(t, l)| (Cow::Owned(t), Cow::Owned(l)));
    }
    if trimmed.is_empty() {
        return Some((Cow::Borrowed(""), Cow::Borrowed("")));
    }
    let count = trimmed.bytes().filter(|&b| b == b'/').count() + 1;
    let (ty, link) = if count % 2 == 1 {
        // Odd: type = last segment, link = everything before it.
        match trimmed.rfind('/') {
            Some(i) => (&trimmed[i + 1..], &trimmed[..i]),
            None => (trimmed, ""),
        }
    } else {
        // Even: link = the whole path, type = the second-last segment.
        let before = trimmed.rfind('/').map_or("", |i| &trimmed[..i]);
        let from = before.rfind('/').map_or(0, |j| j + 1);
        (&before[from..], trimmed)
    };
    let lower = |s: &'_ str| -> bool { s.bytes().any(|b| b.is_ascii_uppercase()) };
    let ty = if lower(ty) {
        Cow::Owned(ty.to_ascii_lowercase())
    } else {
        Cow::Borrowed(ty)
    };
    // RID-based links (not starting with a name path) are signed lower-cased.
    let link = if link.is_empty()
        || link.starts_with("dbs/")
        || link.starts_with("offers")
        || !lower(link)
    {
        Cow::Borrowed(link)
    } else {
        Cow::Owned(link.to_ascii_lowercase())
    };
    Some((ty, link))
}

/// [`resource_of`] for paths with escapes or empty segments: segments are
/// decoded into a new link.
fn resource_of_decoded(path: &str) -> Option<(String, String)> {
    // One pass, no per-segment allocation: decode segments into `link`,
    // remembering where the last two start.
    let mut link = String::with_capacity(path.len());
    let mut starts: [usize; 2] = [0, 0];
    let mut count = 0usize;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_encoding::percent_decode_str(seg)
            .decode_utf8()
            .ok()?;
        if decoded.contains('/') {
            return None;
        }
        if count > 0 {
            link.push('/');
        }
        starts = [starts[1], link.len()];
        link.push_str(&decoded);
        count += 1;
    }
    if count == 0 {
        return Some((String::new(), String::new()));
    }
    let (ty, link) = if count % 2 == 1 {
        // Odd: type = last segment, link = everything before it.
        let ty = link[starts[1]..].to_ascii_lowercase();
        link.truncate(starts[1].saturating_sub(1));
        (ty, link)
    } else {
        (link[starts[0]..starts[1] - 1].to_ascii_lowercase(), link)
    };
    // RID-based links (not starting with a name path) are signed lower-cased.
    let link = if link.is_empty() || link.starts_with("dbs/") || link.starts_with("offers") {
        link
    } else {
        link.to_ascii_lowercase()
    };
    Some((ty, link))
}

/// The string the client signed.
pub fn string_to_sign(
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
    date: &str,
) -> String {
    let len =
        verb.len() + resource_type.len() + resource_link.len() + x_ms_date.len() + date.len() + 5;
    let mut out = vec![0u8; len];
    let n = write_string_to_sign(
        &mut out,
        verb,
        resource_type,
        resource_link,
        x_ms_date,
        date,
    )
    .unwrap_or(0);
    out.truncate(n);
    // Text with ASCII letters lower-cased is still UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes [`string_to_sign`] into `out`: its length, or `None` when it does
/// not fit.
fn write_string_to_sign(
    out: &mut [u8],
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
    date: &str,
) -> Option<usize> {
    let mut len = 0;
    for (part, lower) in [
        (verb, true),
        (resource_type, true),
        (resource_link, false),
        (x_ms_date, true),
        (date, true),
    ] {
        let (text, nl) = out
            .get_mut(len..len + part.len() + 1)?
            .split_at_mut(part.len());
        text.copy_from_slice(part.as_bytes());
        if lower {
            text.make_ascii_lowercase();
        }
        *nl.first_mut()? = b'\n';
        len += part.len() + 1;
    }
    Some(len)
}

/// Whether an operation only reads (allowed with a read-only key).
pub fn is_read(method: &http::Method, headers: &http::HeaderMap) -> bool {
    match *method {
        http::Method::GET | http::Method::HEAD => true,
        // Queries are POSTs marked as such.
        http::Method::POST => headers
            .get("x-ms-documentdb-isquery")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        _ => false,
    }
}

/// The signature of a master-key token, borrowed from the decoded header
/// (the same rules as [`parse_token`], without copying the signature).
fn master_sig(decoded: &str) -> Result<&str, AuthError> {
    // The SDKs' field order, checked without splitting (the general parse
    // below gives the same answer for it).
    if let Some(sig) = decoded.strip_prefix(SDK_MASTER) {
        if !sig.is_empty() && !sig.as_bytes().contains(&b'&') {
            return Ok(sig);
        }
    }
    let (ty, sig) = token_fields(decoded)?;
    if ty != Some("master") {
        return Err(AuthError::Malformed("not a master-key token"));
    }
    sig.ok_or(AuthError::Malformed("missing sig"))
}

/// The signature of a token as the SDKs encode it
/// (`type%3Dmaster%26ver%3D1.0%26sig%3D` and the encoded signature), with
/// only the signature decoded; `None` sends the header down the general path
/// (which gives the same answer for what this accepts).
fn encoded_master_sig<'a>(value: &str, out: &'a mut [u8; 128]) -> Option<&'a str> {
    let rest = value.trim().strip_prefix(SDK_MASTER_ENCODED)?;
    let n = crate::percent_decode_into(rest.as_bytes(), out)?;
    let sig = std::str::from_utf8(out.get(..n)?).ok()?;
    (!sig.is_empty() && !sig.as_bytes().contains(&b'&')).then_some(sig)
}

/// The headers a master-key token check reads (each single: a repeated one
/// is refused before this is built).
#[derive(Debug, Clone, Copy)]
pub struct MasterHeaders<'a> {
    pub authorization: &'a str,
    pub x_ms_date: Option<&'a str>,
    pub date: Option<&'a str>,
}

/// Verifies a master-key request. `path` is relative to the account root;
/// `now` is in Unix seconds.
pub fn verify(
    method: &http::Method,
    path: &str,
    headers: &http::HeaderMap,
    keys: &[CandidateKey],
    now: i64,
) -> Result<Verified, AuthError> {
    static NAMES: [&http::HeaderName; 3] = [&crate::AUTHORIZATION, &crate::X_MS_DATE, &crate::DATE];
    let scan = HeaderScan::new(headers, &NAMES);
    let signed = MasterHeaders {
        authorization: scan.single(0)?.ok_or(AuthError::Missing)?,
        x_ms_date: scan.single(1)?,
        date: scan.single(2)?,
    };
    verify_signed(method, path, &signed, headers, keys, now)
}

/// [`verify`] with the signed headers already read (the data plane reads
/// them in the same pass as the others it needs). `headers` is consulted
/// only to tell a query from a write for read-only keys.
pub fn verify_signed(
    method: &http::Method,
    path: &str,
    signed: &MasterHeaders<'_>,
    headers: &http::HeaderMap,
    keys: &[CandidateKey],
    now: i64,
) -> Result<Verified, AuthError> {
    let auth = signed.authorization;
    let mut small = [0u8; 128];
    let mut buf = [0u8; 256];
    let decoded;
    let sig = match encoded_master_sig(auth, &mut small) {
        Some(sig) => sig,
        None => {
            decoded = decode_header(auth, &mut buf)?;
            master_sig(&decoded)?
        }
    };
    let (x_ms_date, date) = (signed.x_ms_date, signed.date);
    let when = x_ms_date.or(date).ok_or(AuthError::MissingDate)?;
    check_date(when, now)?;
    let (ty, link) = resource_of(path).ok_or(AuthError::Malformed("invalid resource path"))?;
    let (x_ms_date, date) = (x_ms_date.unwrap_or(""), date.unwrap_or(""));
    // The string to sign, built on the stack when it fits (the usual case).
    let mut stack = [0u8; 512];
    let slot = match write_string_to_sign(&mut stack, method.as_str(), &ty, &link, x_ms_date, date)
    {
        Some(n) => match_hmac(keys, &stack[..n], sig),
        None => {
            let msg = string_to_sign(method.as_str(), &ty, &link, x_ms_date, date);
            match_hmac(keys, msg.as_bytes(), sig)
        }
    }
    .ok_or(AuthError::BadSignature)?;
    if slot.is_read_only() && !is_read(method, headers) {
        return Err(AuthError::ReadOnlyKey);
    }
    Ok(Verified { slot })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyrotor_types::{KeySlot, Secret};

    const EMULATOR_KEY: &str =
        "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
    const DATE: &str = "Thu, 27 Apr 2017 00:51:12 GMT";

    fn sign(key: &str, msg: &str) -> String {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap_or_default();
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &raw);
        base64::engine::general_purpose::STANDARD
            .encode(ring::hmac::sign(&k, msg.as_bytes()).as_ref())
    }

    /// Vectors computed with azure-cosmos 4.17.1's own signing function.
    #[test]
    fn known_answers() {
        let cases = [
            (
                "GET",
                "",
                "",
                "gFB1bRB/PLJTG3bCgMuoVgNzOyFvZAamzEtLuSITjRc=",
            ),
            (
                "GET",
                "dbs",
                "",
                "Bk4MqbjRdQImb4Rqp5pmqv1/OhkMQU93qlTmk/SzVRQ=",
            ),
            (
                "GET",
                "colls",
                "dbs/db1",
                "kOMC62FI4/kMLqDaXoU0vKYQlY7mIBgQ7W1QCoV3mew=",
            ),
            (
                "POST",
                "docs",
                "dbs/db1/colls/c1",
                "pTGQzKdYvdxaLYLD3NjExGL/mezZdIeS3Mak7aIS7VA=",
            ),
            (
                "GET",
                "docs",
                "dbs/db1/colls/c1/docs/d1",
                "WoDvsPqTtR7fL9OYu2MVxxwVZm6FfWOcC4Y3Oom+kYk=",
            ),
        ];
        for (verb, ty, link, want) in cases {
            assert_eq!(
                sign(EMULATOR_KEY, &string_to_sign(verb, ty, link, DATE, "")),
                want,
                "{verb} {ty} {link}"
            );
        }
    }

    #[test]
    fn resource_derivation() {
        let r = |p: &str| {
            let (t, l) = resource_of(p).unwrap_or_else(|| panic!("{p}"));
            (t.into_owned(), l.into_owned())
        };
        assert_eq!(r("/"), (String::new(), String::new()));
        assert_eq!(r("/dbs"), ("dbs".into(), String::new()));
        assert_eq!(r("/dbs/db1/colls"), ("colls".into(), "dbs/db1".into()));
        assert_eq!(
            r("/dbs/db1/colls/c1/docs"),
            ("docs".into(), "dbs/db1/colls/c1".into())
        );
        assert_eq!(
            r("/dbs/db1/colls/c1/docs/d1/"),
            ("docs".into(), "dbs/db1/colls/c1/docs/d1".into())
        );
        assert_eq!(r("/dbs/My%20Db"), ("dbs".into(), "dbs/My Db".into()));
        assert!(resource_of("/dbs/a%2Fb").is_none());
    }

    fn keys() -> Vec<CandidateKey> {
        vec![
            CandidateKey::new(KeySlot::Primary, Secret::new(EMULATOR_KEY.into())),
            CandidateKey::new(
                KeySlot::PrimaryReadonly,
                Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==".into()),
            ),
        ]
    }

    fn now() -> i64 {
        1_493_254_272
        // 27 Apr 2017 00:51:12
    }

    /// `urllib.parse.quote(token, safe="-_.!~*'()")`, as the SDK encodes.
    fn sdk_encode(token: &str) -> String {
        const SDK: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'!')
            .remove(b'~')
            .remove(b'*')
            .remove(b'\'')
            .remove(b'(')
            .remove(b')');
        percent_encoding::utf8_percent_encode(token, SDK).to_string()
    }

    fn request(
        key: &str,
        verb: &str,
        path: &str,
        extra: &[(&'static str, &str)],
    ) -> http::HeaderMap {
        let (ty, link) = resource_of(path).unwrap_or_default();
        let sig = sign(key, &string_to_sign(verb, &ty, &link, DATE, ""));
        let token = format!("type=master&ver=1.0&sig={sig}");
        let encoded = sdk_encode(&token);
        let mut h = http::HeaderMap::new();
        h.insert(
            "authorization",
            encoded.parse().unwrap_or_else(|e| panic!("{e}")),
        );
        h.insert("x-ms-date", DATE.parse().unwrap_or_else(|e| panic!("{e}")));
        for (k, v) in extra {
            h.append(*k, v.parse().unwrap_or_else(|e| panic!("{e}")));
        }
        h
    }

    #[test]
    fn verifies_and_identifies_the_key() {
        let h = request(EMULATOR_KEY, "GET", "/dbs/db1/colls", &[]);
        assert_eq!(
            verify(&http::Method::GET, "/dbs/db1/colls", &h, &keys(), now()),
            Ok(Verified {
                slot: KeySlot::Primary
            })
        );
    }

    #[test]
    fn every_signed_field_is_bound() {
        let h = request(EMULATOR_KEY, "GET", "/dbs/db1/colls", &[]);
        let k = keys();
        assert_eq!(
            verify(&http::Method::POST, "/dbs/db1/colls", &h, &k, now()),
            Err(AuthError::BadSignature),
            "verb"
        );
        assert_eq!(
            verify(&http::Method::GET, "/dbs/db2/colls", &h, &k, now()),
            Err(AuthError::BadSignature),
            "link"
        );
        assert_eq!(
            verify(&http::Method::GET, "/dbs/db1/users", &h, &k, now()),
            Err(AuthError::BadSignature),
            "type"
        );
        let mut other_date = h.clone();
        other_date.insert(
            "x-ms-date",
            "Thu, 27 Apr 2017 00:51:13 GMT"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(
            verify(&http::Method::GET, "/dbs/db1/colls", &other_date, &k, now()),
            Err(AuthError::BadSignature),
            "date"
        );
        let mut added_date = h.clone();
        added_date.insert("date", DATE.parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            verify(&http::Method::GET, "/dbs/db1/colls", &added_date, &k, now()),
            Err(AuthError::BadSignature),
            "Date line"
        );
    }

    /// A string to sign too long for the stack buffer takes the heap path
    /// and verifies alike.
    #[test]
    fn long_resource_links_verify() {
        let path = format!("/dbs/db1/colls/c1/docs/{}", "d".repeat(600));
        let h = request(EMULATOR_KEY, "GET", &path, &[]);
        assert_eq!(
            verify(&http::Method::GET, &path, &h, &keys(), now()),
            Ok(Verified {
                slot: KeySlot::Primary
            })
        );
    }

    #[test]
    fn date_window_both_ways() {
        let h = request(EMULATOR_KEY, "GET", "/", &[]);
        let k = keys();
        assert!(verify(&http::Method::GET, "/", &h, &k, now() + 14 * 60).is_ok());
        assert_eq!(
            verify(&http::Method::GET, "/", &h, &k, now() + 16 * 60),
            Err(AuthError::DateOutOfWindow)
        );
        assert_eq!(
            verify(&http::Method::GET, "/", &h, &k, now() - 16 * 60),
            Err(AuthError::DateOutOfWindow)
        );
        let mut no_date = h.clone();
        no_date.remove("x-ms-date");
        assert_eq!(
            verify(&http::Method::GET, "/", &no_date, &k, now()),
            Err(AuthError::MissingDate)
        );
        let mut bad_date = h.clone();
        bad_date.insert(
            "x-ms-date",
            "yesterday".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(
            verify(&http::Method::GET, "/", &bad_date, &k, now()),
            Err(AuthError::DateOutOfWindow)
        );
    }

    #[test]
    fn malformed_missing_duplicate() {
        let k = keys();
        let mut h = request(EMULATOR_KEY, "GET", "/", &[]);
        h.append(
            "authorization",
            "type=master&ver=1.0&sig=x"
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(matches!(
            verify(&http::Method::GET, "/", &h, &k, now()),
            Err(AuthError::Duplicate(_))
        ));
        for bad in [
            "",
            "type=master",
            "type=master&ver=2.0&sig=abc",
            "type=master&ver=1.0&sig=",
            "type=x&ver=1.0&sig=a",
            "type=master&ver=1.0&sig=a&sig=b",
            "garbage",
            "%FF",
        ] {
            let mut h = request(EMULATOR_KEY, "GET", "/", &[]);
            h.insert(
                "authorization",
                bad.parse().unwrap_or_else(|e| panic!("{e}")),
            );
            assert!(
                verify(&http::Method::GET, "/", &h, &k, now()).is_err(),
                "{bad}"
            );
        }
        let mut h = request(EMULATOR_KEY, "GET", "/", &[]);
        h.remove("authorization");
        assert_eq!(
            verify(&http::Method::GET, "/", &h, &k, now()),
            Err(AuthError::Missing)
        );
        let h = request(
            EMULATOR_KEY,
            "GET",
            "/",
            &[("x-ms-date", "Thu, 27 Apr 2017 00:51:12 GMT")],
        );
        assert!(matches!(
            verify(&http::Method::GET, "/", &h, &k, now()),
            Err(AuthError::Duplicate(_))
        ));
    }

    #[test]
    fn read_only_keys_read_but_never_write() {
        let ro = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
        let k = keys();
        let h = request(ro, "GET", "/dbs/db1/colls/c1/docs/d1", &[]);
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/colls/c1/docs/d1",
                &h,
                &k,
                now()
            ),
            Ok(Verified {
                slot: KeySlot::PrimaryReadonly
            })
        );
        let h = request(ro, "POST", "/dbs/db1/colls/c1/docs", &[]);
        assert_eq!(
            verify(&http::Method::POST, "/dbs/db1/colls/c1/docs", &h, &k, now()),
            Err(AuthError::ReadOnlyKey)
        );
        let h = request(
            ro,
            "POST",
            "/dbs/db1/colls/c1/docs",
            &[("x-ms-documentdb-isquery", "True")],
        );
        assert!(verify(&http::Method::POST, "/dbs/db1/colls/c1/docs", &h, &k, now()).is_ok());
        let h = request(ro, "DELETE", "/dbs/db1", &[]);
        assert_eq!(
            verify(&http::Method::DELETE, "/dbs/db1", &h, &k, now()),
            Err(AuthError::ReadOnlyKey)
        );
    }

    #[test]
    fn unknown_key_is_refused() {
        let other = "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
        let h = request(other, "GET", "/", &[]);
        assert_eq!(
            verify(&http::Method::GET, "/", &h, &keys(), now()),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&http::Method::GET, "/", &h, &[], now()),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn aad_tokens_parse() {
        assert_eq!(
            parse_token("type=aad&ver=1.0&sig=eyJ.a.b"),
            Ok(Token::Aad {
                token: "eyJ.a.b".into()
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,200}", p in "[/a-zA-Z0-9%]{0,60}") {
            let _ = parse_token(&s);
            let _ = resource_of(&p);
        }

        /// The encoded master-token fast path answers exactly what the
        /// general parse does, whenever it answers.
        #[test]
        fn master_fast_path_matches_the_general_parse(
            sig in "[A-Za-z0-9+/=&%.]{0,60}",
            all in proptest::bool::ANY,
        ) {
            let token = format!("type=master&ver=1.0&sig={sig}");
            let encoded = if all {
                percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            } else {
                sdk_encode(&token)
            };
            let mut small = [0u8; 128];
            let mut buf = [0u8; 256];
            let general = decode_header(&encoded, &mut buf).and_then(|d| master_sig(&d).map(str::to_string));
            if let Some(fast) = encoded_master_sig(&encoded, &mut small) {
                proptest::prop_assert_eq!(Ok(fast.to_string()), general);
            }
            // SDK spelling with a plain signature always takes the fast path.
            if !all && !sig.is_empty() && !sig.contains('&') {
                proptest::prop_assert!(encoded_master_sig(&encoded, &mut small).is_some());
            }
        }

        /// What the handler's shortcut takes for a master-key token is never
        /// an AAD or resource token to the general parse, and the SDKs'
        /// master tokens always take the shortcut.
        #[test]
        fn master_shortcut_agrees_with_the_general_parse(
            head in proptest::sample::select(vec![SDK_MASTER, SDK_MASTER_ENCODED, "type=aad&ver=1.0&sig=", "type%3Daad%26ver%3D1.0%26sig%3D", " type=master&", ""]),
            tail in "[A-Za-z0-9+/=&%.]{0,60}",
        ) {
            let value = format!("{head}{tail}");
            if is_sdk_master_token(&value) {
                let other = matches!(parse_token(&value), Ok(Token::Aad { .. } | Token::Resource));
                proptest::prop_assert!(!other, "{value} taken for a master-key token");
            }
            let sig = "dsZQi3KtZmCv1ljt3VNWNm7sQUF1y5rJfC6kv5JiwvA=";
            let sdk = sdk_encode(&format!("{}{}", SDK_MASTER, sig));
            proptest::prop_assert!(is_sdk_master_token(&sdk));
        }

        /// The borrowing fast path answers exactly what decoding does.
        #[test]
        fn resource_fast_path_matches_decoding(p in "[/a-zA-Z0-9 ._-]{0,60}") {
            let fast = resource_of(&p).map(|(t, l)| (t.into_owned(), l.into_owned()));
            proptest::prop_assert_eq!(fast, resource_of_decoded(&p));
        }
    }
}
