//! Cosmos DB master-key tokens (`type=master&ver=1.0&sig=...`), as the
//! azure-cosmos SDK makes them (`auth.py`, `_base.GetHeaders`).
//!
//! String to sign, UTF-8, five `\n`-terminated lines:
//! `{verb lower}\n{resourceType lower}\n{resourceLink}\n{x-ms-date lower}\n{Date lower}\n`;
//! signature = base64(HMAC-SHA256(base64decode(key), string)). The header
//! value is the whole token percent-encoded. Known-answer vectors made by
//! the SDK's own code: tests/vectors/cosmos.json (written by
//! scripts/capture-kat-vectors.py, checked by tests/kat.rs).

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
    for part in decoded.split('&') {
        let (k, v) = part
            .split_once('=')
            .ok_or(AuthError::Malformed("expected key=value pairs"))?;
        let slot = match k {
            "type" => &mut ty,
            "ver" => &mut ver,
            "sig" => &mut sig,
            _ => return Err(AuthError::Malformed("unknown token field")),
        };
        if slot.replace(v).is_some() {
            return Err(AuthError::Malformed("repeated token field"));
        }
    }
    if ver != Some("1.0") {
        return Err(AuthError::Malformed("ver must be 1.0"));
    }
    Ok((ty, sig.filter(|s| !s.is_empty())))
}

/// Percent-decodes an `authorization` header value (a master-key token is
/// about 90 bytes: on the stack; an AAD token on the heap).
fn decode_header(value: &str) -> smallvec::SmallVec<[u8; 256]> {
    percent_encoding::percent_decode_str(value.trim()).collect()
}

/// The decoded header as text.
fn utf8(decoded: &[u8]) -> Result<&str, AuthError> {
    std::str::from_utf8(decoded)
        .map_err(|_| AuthError::Malformed("not UTF-8 after percent-decoding"))
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
    let decoded = decode_header(value);
    let (ty, sig) = token_fields(utf8(&decoded)?)?;
    let sig = sig.ok_or(AuthError::Malformed("missing sig"))?.to_string();
    match ty {
        Some("master") => Ok(Token::Master { sig }),
        Some("aad") => Ok(Token::Aad { token: sig }),
        Some("resource") => Ok(Token::Resource),
        _ => Err(AuthError::Malformed("type must be master, aad or resource")),
    }
}

/// A request path below the account root, resolved once: its segments
/// percent-decoded (none empty, none containing `/`), joined by `/`. The
/// string to sign and the data plane's operation are both derived from it,
/// so the link a signature covers is exactly the link the handler serves:
/// case preserved, as azure-cosmos builds it (`auth.py` signs the name-based
/// link unchanged; keyrotor serves no RID-based links).
///
/// The usual path (no escapes, no empty segments) is borrowed from the
/// request: no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath<'a> {
    joined: Cow<'a, str>,
}

impl<'a> ResourcePath<'a> {
    /// `None` for a path no Cosmos resource can have: a segment that is not
    /// UTF-8 after decoding, or that decodes to contain `/`.
    pub fn parse(path: &'a str) -> Option<Self> {
        let trimmed = path.trim_matches('/');
        if !trimmed.contains('%') && !trimmed.contains("//") {
            return Some(Self {
                joined: Cow::Borrowed(trimmed),
            });
        }
        let mut joined = String::with_capacity(trimmed.len());
        for seg in trimmed.split('/').filter(|s| !s.is_empty()) {
            let decoded = percent_encoding::percent_decode_str(seg)
                .decode_utf8()
                .ok()?;
            if decoded.contains('/') {
                return None;
            }
            if !joined.is_empty() {
                joined.push('/');
            }
            joined.push_str(&decoded);
        }
        Some(Self {
            joined: Cow::Owned(joined),
        })
    }

    /// The decoded segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.joined.split('/').filter(|s| !s.is_empty())
    }

    /// How many segments the path has.
    pub fn len(&self) -> usize {
        if self.joined.is_empty() {
            0
        } else {
            self.joined.bytes().filter(|&b| b == b'/').count() + 1
        }
    }

    /// Whether this is the account root.
    pub fn is_empty(&self) -> bool {
        self.joined.is_empty()
    }

    /// The resource type as the path spells it (signed lower-cased): the
    /// last segment of a feed path (odd count), the second-last of an item
    /// path (even count), empty for the account root.
    pub fn resource_type(&self) -> &str {
        let j: &str = &self.joined;
        match (self.len(), j.rfind('/')) {
            (0, _) => "",
            (n, Some(i)) if n % 2 == 1 => &j[i + 1..],
            (_, None) => j,
            (_, Some(i)) => {
                let before = &j[..i];
                &before[before.rfind('/').map_or(0, |k| k + 1)..]
            }
        }
    }

    /// The resource link: the parent's path for a feed (odd count), the
    /// item's own path otherwise; exactly as the path spells it.
    pub fn resource_link(&self) -> &str {
        let j: &str = &self.joined;
        if self.len() % 2 == 1 {
            j.rfind('/').map_or("", |i| &j[..i])
        } else {
            j
        }
    }
}

/// Resource type and link of a request path relative to the account root
/// (`/dbs/db1/colls/c1/docs` → (`docs`, `dbs/db1/colls/c1`)), as
/// [`ResourcePath`] derives them.
pub fn resource_of(path: &str) -> Option<(String, String)> {
    let p = ResourcePath::parse(path)?;
    Some((p.resource_type().to_string(), p.resource_link().to_string()))
}

/// The string the client signed.
pub fn string_to_sign(
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
    date: &str,
) -> String {
    let bytes = signed_bytes(verb, resource_type, resource_link, x_ms_date, date);
    // Text with ASCII letters lower-cased is still UTF-8.
    String::from_utf8(bytes.to_vec()).unwrap_or_default()
}

/// [`string_to_sign`] as bytes, on the stack when it fits (the usual case).
fn signed_bytes(
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    x_ms_date: &str,
    date: &str,
) -> smallvec::SmallVec<[u8; 512]> {
    let mut out = smallvec::SmallVec::new();
    for (part, lower) in [
        (verb, true),
        (resource_type, true),
        (resource_link, false),
        (x_ms_date, true),
        (date, true),
    ] {
        let start = out.len();
        out.extend_from_slice(part.as_bytes());
        if lower {
            out[start..].make_ascii_lowercase();
        }
        out.push(b'\n');
    }
    out
}

/// What the operation a request resolves to does: read-only keys may
/// authorize reads only. The caller decides this from the operation it will
/// run (never from a client header on its own), and the verifier enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The signature of a master-key token, borrowed from the decoded header
/// (the same rules as [`parse_token`]).
fn master_sig(decoded: &str) -> Result<&str, AuthError> {
    let (ty, sig) = token_fields(decoded)?;
    if ty != Some("master") {
        return Err(AuthError::Malformed("not a master-key token"));
    }
    sig.ok_or(AuthError::Malformed("missing sig"))
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
/// `access` is what the operation the caller will run does; `now` is in
/// Unix seconds.
pub fn verify(
    method: &http::Method,
    path: &str,
    headers: &http::HeaderMap,
    access: Access,
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
    let resource =
        ResourcePath::parse(path).ok_or(AuthError::Malformed("invalid resource path"))?;
    verify_signed(method, &resource, &signed, access, keys, now)
}

/// [`verify`] with the signed headers already read and the path already
/// resolved (the data plane resolves the operation it will run from the same
/// [`ResourcePath`], and reads the headers in the same pass as the others it
/// needs).
pub fn verify_signed(
    method: &http::Method,
    resource: &ResourcePath<'_>,
    signed: &MasterHeaders<'_>,
    access: Access,
    keys: &[CandidateKey],
    now: i64,
) -> Result<Verified, AuthError> {
    let decoded = decode_header(signed.authorization);
    let sig = master_sig(utf8(&decoded)?)?;
    let (x_ms_date, date) = (signed.x_ms_date, signed.date);
    let when = x_ms_date.or(date).ok_or(AuthError::MissingDate)?;
    check_date(when, now)?;
    let (ty, link) = (resource.resource_type(), resource.resource_link());
    let (x_ms_date, date) = (x_ms_date.unwrap_or(""), date.unwrap_or(""));
    let message = signed_bytes(method.as_str(), ty, link, x_ms_date, date);
    let slot = match_hmac(keys, &message, sig).ok_or(AuthError::BadSignature)?;
    if slot.is_read_only() && access == Access::Write {
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

    /// The first five vectors of tests/vectors/cosmos.json (azure-cosmos
    /// 4.17.1's own signing code; tests/kat.rs checks all of them).
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
        let r = |p: &str| resource_of(p).unwrap_or_else(|| panic!("{p} names a resource"));
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
            encoded.parse().expect("a valid header value"),
        );
        h.insert("x-ms-date", DATE.parse().expect("a valid header value"));
        for (k, v) in extra {
            h.append(*k, v.parse().expect("a valid header value"));
        }
        h
    }

    #[test]
    fn verifies_and_identifies_the_key() {
        let h = request(EMULATOR_KEY, "GET", "/dbs/db1/colls", &[]);
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/colls",
                &h,
                Access::Read,
                &keys(),
                now()
            ),
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
            verify(
                &http::Method::POST,
                "/dbs/db1/colls",
                &h,
                Access::Write,
                &k,
                now()
            ),
            Err(AuthError::BadSignature),
            "verb"
        );
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db2/colls",
                &h,
                Access::Read,
                &k,
                now()
            ),
            Err(AuthError::BadSignature),
            "link"
        );
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/users",
                &h,
                Access::Read,
                &k,
                now()
            ),
            Err(AuthError::BadSignature),
            "type"
        );
        let mut other_date = h.clone();
        other_date.insert(
            "x-ms-date",
            "Thu, 27 Apr 2017 00:51:13 GMT"
                .parse()
                .expect("a valid header value"),
        );
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/colls",
                &other_date,
                Access::Read,
                &k,
                now()
            ),
            Err(AuthError::BadSignature),
            "date"
        );
        let mut added_date = h.clone();
        added_date.insert("date", DATE.parse().expect("a valid header value"));
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/colls",
                &added_date,
                Access::Read,
                &k,
                now()
            ),
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
            verify(&http::Method::GET, &path, &h, Access::Read, &keys(), now()),
            Ok(Verified {
                slot: KeySlot::Primary
            })
        );
    }

    #[test]
    fn date_window_both_ways() {
        let h = request(EMULATOR_KEY, "GET", "/", &[]);
        let k = keys();
        assert!(verify(
            &http::Method::GET,
            "/",
            &h,
            Access::Read,
            &k,
            now() + 14 * 60
        )
        .is_ok());
        assert_eq!(
            verify(
                &http::Method::GET,
                "/",
                &h,
                Access::Read,
                &k,
                now() + 16 * 60
            ),
            Err(AuthError::DateOutOfWindow)
        );
        assert_eq!(
            verify(
                &http::Method::GET,
                "/",
                &h,
                Access::Read,
                &k,
                now() - 16 * 60
            ),
            Err(AuthError::DateOutOfWindow)
        );
        let mut no_date = h.clone();
        no_date.remove("x-ms-date");
        assert_eq!(
            verify(&http::Method::GET, "/", &no_date, Access::Read, &k, now()),
            Err(AuthError::MissingDate)
        );
        let mut bad_date = h.clone();
        bad_date.insert(
            "x-ms-date",
            "yesterday".parse().expect("a valid header value"),
        );
        assert_eq!(
            verify(&http::Method::GET, "/", &bad_date, Access::Read, &k, now()),
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
                .expect("a valid header value"),
        );
        assert!(matches!(
            verify(&http::Method::GET, "/", &h, Access::Read, &k, now()),
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
            h.insert("authorization", bad.parse().expect("a valid header value"));
            assert!(
                verify(&http::Method::GET, "/", &h, Access::Read, &k, now()).is_err(),
                "{bad}"
            );
        }
        let mut h = request(EMULATOR_KEY, "GET", "/", &[]);
        h.remove("authorization");
        assert_eq!(
            verify(&http::Method::GET, "/", &h, Access::Read, &k, now()),
            Err(AuthError::Missing)
        );
        let h = request(
            EMULATOR_KEY,
            "GET",
            "/",
            &[("x-ms-date", "Thu, 27 Apr 2017 00:51:12 GMT")],
        );
        assert!(matches!(
            verify(&http::Method::GET, "/", &h, Access::Read, &k, now()),
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
                Access::Read,
                &k,
                now()
            ),
            Ok(Verified {
                slot: KeySlot::PrimaryReadonly
            })
        );
        let h = request(ro, "POST", "/dbs/db1/colls/c1/docs", &[]);
        assert_eq!(
            verify(
                &http::Method::POST,
                "/dbs/db1/colls/c1/docs",
                &h,
                Access::Write,
                &k,
                now()
            ),
            Err(AuthError::ReadOnlyKey)
        );
        // The verifier decides from the operation the caller resolved, not
        // from headers: a query header on a write does not make it a read.
        let h = request(
            ro,
            "POST",
            "/dbs/db1/colls",
            &[("x-ms-documentdb-isquery", "True")],
        );
        assert_eq!(
            verify(
                &http::Method::POST,
                "/dbs/db1/colls",
                &h,
                Access::Write,
                &k,
                now()
            ),
            Err(AuthError::ReadOnlyKey)
        );
        let h = request(ro, "POST", "/dbs/db1/colls/c1/docs", &[]);
        assert!(verify(
            &http::Method::POST,
            "/dbs/db1/colls/c1/docs",
            &h,
            Access::Read,
            &k,
            now()
        )
        .is_ok());
        let h = request(ro, "DELETE", "/dbs/db1", &[]);
        assert_eq!(
            verify(
                &http::Method::DELETE,
                "/dbs/db1",
                &h,
                Access::Write,
                &k,
                now()
            ),
            Err(AuthError::ReadOnlyKey)
        );
    }

    /// A token signed for one link does not serve another spelling of it:
    /// the link is signed exactly as the path gives it (security finding 4:
    /// the verifier lower-cased links not starting with `dbs/`).
    #[test]
    fn links_are_case_sensitive() {
        let k = keys();
        let h = request(EMULATOR_KEY, "GET", "/dbs/db1/colls/c1/docs/d1", &[]);
        for other in [
            "/Dbs/db1/colls/c1/docs/d1",
            "/Dbs/DB1/colls/C1/docs/D1",
            "/DBS/db1/colls/c1/docs/d1",
            "/dbs/DB1/colls/c1/docs/d1",
            "/dbs/db1/colls/c1/docs/D1",
        ] {
            assert_eq!(
                verify(&http::Method::GET, other, &h, Access::Read, &k, now()),
                Err(AuthError::BadSignature),
                "{other}"
            );
        }
        let h = request(EMULATOR_KEY, "GET", "/Dbs/DB1/colls/C1/docs/D1", &[]);
        assert_eq!(
            verify(
                &http::Method::GET,
                "/dbs/db1/colls/c1/docs/d1",
                &h,
                Access::Read,
                &k,
                now()
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            resource_of("/Dbs/DB1"),
            Some(("Dbs".into(), "Dbs/DB1".into()))
        );
    }

    #[test]
    fn unknown_key_is_refused() {
        let other = "AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
        let h = request(other, "GET", "/", &[]);
        assert_eq!(
            verify(&http::Method::GET, "/", &h, Access::Read, &keys(), now()),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&http::Method::GET, "/", &h, Access::Read, &[], now()),
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
            let _ = ResourcePath::parse(&p).map(|r| (r.resource_type().len(), r.resource_link().len(), r.len()));
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

        /// The borrowed path (no escapes) answers exactly what decoding
        /// does, and the link is the path's own spelling: never case-folded.
        #[test]
        fn resource_paths_keep_the_request_spelling(
            segs in proptest::collection::vec("[a-zA-Z0-9 ._-]{1,8}", 0..7),
            slashes in proptest::collection::vec(1usize..3, 7),
        ) {
            let mut plain = String::new();
            let mut encoded = String::new();
            for (i, seg) in segs.iter().enumerate() {
                plain.push_str(&"/".repeat(slashes[i]));
                plain.push_str(seg);
                encoded.push('/');
                encoded.push_str(&percent_encoding::utf8_percent_encode(seg, percent_encoding::NON_ALPHANUMERIC).to_string());
            }
            let a = ResourcePath::parse(&plain).unwrap_or_else(|| panic!("{plain} parses"));
            let b = ResourcePath::parse(&encoded).unwrap_or_else(|| panic!("{encoded} parses"));
            proptest::prop_assert_eq!(a.resource_type(), b.resource_type());
            proptest::prop_assert_eq!(a.resource_link(), b.resource_link());
            proptest::prop_assert_eq!(a.segments().collect::<Vec<_>>(), segs.iter().map(String::as_str).collect::<Vec<_>>());
            proptest::prop_assert_eq!(a.len(), segs.len());
            let n = segs.len();
            let (ty, link) = match n {
                0 => (String::new(), String::new()),
                n if n % 2 == 1 => (segs[n - 1].clone(), segs[..n - 1].join("/")),
                n => (segs[n - 2].clone(), segs.join("/")),
            };
            proptest::prop_assert_eq!(a.resource_type(), ty.as_str());
            proptest::prop_assert_eq!(a.resource_link(), link.as_str());
        }
    }
}
