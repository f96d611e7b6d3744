//! Azure Batch SharedKey (`Authorization: SharedKey account:signature`), as
//! azure-batch 15.1.0 signs it (`BatchSharedKeyAuthPolicy`):
//!
//! ```text
//! {METHOD}\n
//! {content-encoding}\n{content-language}\n{content-length}\n{content-md5}\n{content-type}\n{date}\n
//! {if-modified-since}\n{if-match}\n{if-none-match}\n{if-unmodified-since}\n{range}\n
//! {each non-empty header whose lower-cased name contains "ocp-", sorted: "name:value\n"}
//! /{account}{raw path}
//! {each query parameter sorted by name, first value, non-empty: "\n{name}:{decoded value}"}
//! ```
//! Header values are read case-insensitively; a missing Content-Length is
//! `0` for methods other than GET/HEAD. Duplicate signed headers are refused
//! rather than joined, so no two readings of one request exist.
//! Known-answer vectors made by the SDK's own code:
//! tests/vectors/shared_key.json (written by scripts/capture-kat-vectors.py,
//! checked by tests/kat.rs).

use std::borrow::Cow;

use crate::{check_date, match_hmac, AuthError, CandidateKey, Verified};

const STANDARD_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// Parses `SharedKey account:signature`.
pub fn parse_authorization(value: &str) -> Result<(&str, &str), AuthError> {
    let rest = value
        .strip_prefix("SharedKey ")
        .ok_or(AuthError::Malformed(
            "expected 'SharedKey account:signature'",
        ))?;
    let (account, sig) = rest.trim().split_once(':').ok_or(AuthError::Malformed(
        "expected 'SharedKey account:signature'",
    ))?;
    if account.is_empty() || sig.is_empty() {
        return Err(AuthError::Malformed("empty account or signature"));
    }
    Ok((account, sig))
}

/// The headers SharedKey reads, from one pass over the request's headers.
struct Collected<'a> {
    /// The standard headers, by position in [`STANDARD_HEADERS`].
    standard: [Option<&'a str>; STANDARD_HEADERS.len()],
    /// Every header whose name contains `ocp-`, in arrival order.
    ocp: Vec<(&'a str, &'a str)>,
    authorization: Option<&'a str>,
}

/// Position of `date` in [`STANDARD_HEADERS`].
const DATE_SLOT: usize = 5;

/// Position of a signed standard header in [`STANDARD_HEADERS`].
fn standard_slot(name: &str) -> Option<usize> {
    Some(match name {
        "content-encoding" => 0,
        "content-language" => 1,
        "content-length" => 2,
        "content-md5" => 3,
        "content-type" => 4,
        "date" => 5,
        "if-modified-since" => 6,
        "if-match" => 7,
        "if-none-match" => 8,
        "if-unmodified-since" => 9,
        "range" => 10,
        _ => return None,
    })
}

/// One pass over the request's headers (instead of a map lookup per signed
/// header): the standard ones by position, the `ocp-*` ones collected, the
/// credential; a repeated signed header is refused, never joined.
fn collect(headers: &http::HeaderMap) -> Result<Collected<'_>, AuthError> {
    let mut c = Collected {
        standard: [None; STANDARD_HEADERS.len()],
        ocp: Vec::new(),
        authorization: None,
    };
    for (name, value) in headers {
        let text = || {
            value
                .to_str()
                .map_err(|_| AuthError::Malformed("a header is not valid text"))
        };
        if name == http::header::AUTHORIZATION {
            if c.authorization.replace(text()?).is_some() {
                return Err(AuthError::Duplicate("authorization"));
            }
            continue;
        }
        let n = name.as_str();
        if let Some(i) = standard_slot(n) {
            if c.standard[i].replace(text()?).is_some() {
                return Err(AuthError::Duplicate(STANDARD_HEADERS[i]));
            }
        } else if n.contains("ocp-") {
            if c.ocp.iter().any(|(m, _)| *m == n) {
                return Err(AuthError::Duplicate("ocp-*"));
            }
            c.ocp.push((n, text()?));
        }
    }
    Ok(c)
}

/// The canonical string for a request. `raw_path` is the path as received
/// (still percent-encoded); `query` the raw query string.
pub fn string_to_sign(
    method: &http::Method,
    headers: &http::HeaderMap,
    account: &str,
    raw_path: &str,
    query: Option<&str>,
) -> Result<String, AuthError> {
    Ok(canonical(
        method,
        collect(headers)?,
        account,
        raw_path,
        query,
    ))
}

fn canonical(
    method: &http::Method,
    c: Collected<'_>,
    account: &str,
    raw_path: &str,
    query: Option<&str>,
) -> String {
    let Collected {
        standard, mut ocp, ..
    } = c;
    ocp.retain(|(_, v)| !v.is_empty());
    ocp.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut s = String::with_capacity(256);
    s.push_str(method.as_str());
    s.push('\n');
    for (i, name) in STANDARD_HEADERS.iter().enumerate() {
        let v = standard[i].unwrap_or("");
        if *name == "content-length"
            && v.is_empty()
            && *method != http::Method::GET
            && *method != http::Method::HEAD
        {
            s.push('0');
        } else {
            s.push_str(v);
        }
        s.push('\n');
    }
    for (n, v) in ocp {
        s.push_str(n);
        s.push(':');
        s.push_str(v);
        s.push('\n');
    }
    s.push('/');
    s.push_str(account);
    s.push_str(raw_path);
    let params = query_params(query.unwrap_or(""));
    for (k, v) in params {
        if v.is_empty() {
            continue;
        }
        s.push('\n');
        s.push_str(&k);
        s.push(':');
        s.push_str(&v);
    }
    s
}

/// The query's parameters as SharedKey signs them: decoded (form rules),
/// first value of each name, sorted by name.
fn query_params(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    type Params<'q> = Vec<(Cow<'q, str>, Cow<'q, str>)>;
    fn add<'q>(params: &mut Params<'q>, k: Cow<'q, str>, v: Cow<'q, str>) {
        if !params.iter().any(|(n, _)| *n == k) {
            params.push((k, v)); // first value wins, as parse_qs()[0]
        }
    }
    let mut params: Params<'_> = Vec::with_capacity(4);
    if query.bytes().any(|b| b == b'%' || b == b'+') {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            add(&mut params, k, v);
        }
    } else {
        // Nothing to decode: the form parser's splitting, borrowed.
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            add(&mut params, Cow::Borrowed(k), Cow::Borrowed(v));
        }
    }
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
}

/// Verifies a SharedKey request for `account` (the account addressed by
/// the URL; compared case-insensitively with the credential's). `now` is in
/// Unix seconds.
pub fn verify(
    method: &http::Method,
    raw_path: &str,
    query: Option<&str>,
    headers: &http::HeaderMap,
    account: &str,
    keys: &[CandidateKey],
    now: i64,
) -> Result<Verified, AuthError> {
    let c = collect(headers)?;
    let (claimed, sig) = parse_authorization(c.authorization.ok_or(AuthError::Missing)?)?;
    if !claimed.eq_ignore_ascii_case(account) {
        return Err(AuthError::WrongAccount);
    }
    let when = match c.ocp.iter().find(|(n, _)| *n == "ocp-date") {
        Some((_, d)) => d,
        None => c.standard[DATE_SLOT].ok_or(AuthError::MissingDate)?,
    };
    check_date(when, now)?;
    let msg = canonical(method, c, claimed, raw_path, query);
    let slot = match_hmac(keys, msg.as_bytes(), sig).ok_or(AuthError::BadSignature)?;
    Ok(Verified { slot })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyrotor_types::{KeySlot, Secret};

    /// base64 of bytes 0x00..0x3F.
    const KEY: &str =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
    const DATE: &str = "Tue, 07 Jan 2025 12:00:00 GMT";

    fn keys() -> Vec<CandidateKey> {
        vec![
            CandidateKey::new(KeySlot::Primary, Secret::new("C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==".into())),
            CandidateKey::new(KeySlot::Secondary, Secret::new(KEY.into())),
        ]
    }

    fn now() -> i64 {
        1_736_251_200
    }

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("a valid header value"));
        }
        h
    }

    fn get_request() -> http::HeaderMap {
        headers(&[
            ("ocp-date", DATE),
            (
                "authorization",
                "SharedKey myaccount:vSI7Q+RThRDFejsU/JTgpUamVYVIqBkOmGSqpo+e/1A=",
            ),
            ("client-request-id", "7d9b9c22-0000-0000-0000-000000000000"),
            ("accept", "application/json"),
        ])
    }

    fn post_request() -> http::HeaderMap {
        headers(&[
            ("ocp-date", DATE),
            ("content-length", "41"),
            ("content-type", "application/json; odata=minimalmetadata"),
            (
                "authorization",
                "SharedKey myaccount:U28JQWipYtcfTVb2qYLcgi2pEg8ah2gXxUM1Wl8SEgw=",
            ),
        ])
    }

    const GET_QUERY: &str = "api-version=2025-06-01&maxresults=10";

    /// The first two vectors of tests/vectors/shared_key.json (azure-batch
    /// 15.1.0's own signing code; tests/kat.rs checks all of them).
    #[test]
    fn known_answers() {
        assert_eq!(
            verify(
                &http::Method::GET,
                "/applications",
                Some(GET_QUERY),
                &get_request(),
                "myaccount",
                &keys(),
                now()
            ),
            Ok(Verified {
                slot: KeySlot::Secondary
            })
        );
        assert_eq!(
            verify(
                &http::Method::POST,
                "/pools",
                Some("api-version=2025-06-01"),
                &post_request(),
                "myaccount",
                &keys(),
                now()
            ),
            Ok(Verified {
                slot: KeySlot::Secondary
            })
        );
    }

    #[test]
    fn canonical_string_matches_the_capture() {
        let h = headers(&[("ocp-date", "Sun, 22 Nov 2026 17:25:32 GMT")]);
        let s = string_to_sign(
            &http::Method::GET,
            &h,
            "ba1",
            "/applications",
            Some(GET_QUERY),
        )
        .unwrap_or_default();
        assert_eq!(s, "GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:Sun, 22 Nov 2026 17:25:32 GMT\n/ba1/applications\napi-version:2025-06-01\nmaxresults:10");
        let s = string_to_sign(&http::Method::POST, &headers(&[]), "ba1", "/pools", None)
            .unwrap_or_default();
        assert!(s.starts_with("POST\n\n\n0\n"), "{s:?}");
    }

    #[test]
    fn every_signed_field_is_bound() {
        let k = keys();
        let ok = |m: &http::Method, p: &str, q: Option<&str>, h: &http::HeaderMap, acct: &str| {
            verify(m, p, q, h, acct, &k, now())
        };
        assert_eq!(
            ok(
                &http::Method::DELETE,
                "/applications",
                Some(GET_QUERY),
                &get_request(),
                "myaccount"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            ok(
                &http::Method::GET,
                "/applicationz",
                Some(GET_QUERY),
                &get_request(),
                "myaccount"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            ok(
                &http::Method::GET,
                "/applications",
                Some("api-version=2025-06-01&maxresults=11"),
                &get_request(),
                "myaccount"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            ok(
                &http::Method::GET,
                "/applications",
                Some("api-version=2025-06-01"),
                &get_request(),
                "myaccount"
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            ok(
                &http::Method::GET,
                "/applications",
                Some(GET_QUERY),
                &get_request(),
                "otheraccount"
            ),
            Err(AuthError::WrongAccount)
        );
        for (name, value) in [
            ("content-type", "text/plain"),
            ("content-md5", "abc"),
            ("if-match", "*"),
            ("range", "bytes=0-1"),
            ("ocp-extra", "x"),
            ("content-encoding", "gzip"),
        ] {
            let mut h = get_request();
            h.insert(name, value.parse().expect("a valid header value"));
            assert_eq!(
                ok(
                    &http::Method::GET,
                    "/applications",
                    Some(GET_QUERY),
                    &h,
                    "myaccount"
                ),
                Err(AuthError::BadSignature),
                "{name}"
            );
        }
        let mut h = post_request();
        h.insert(
            "content-length",
            "42".parse().expect("a valid header value"),
        );
        assert_eq!(
            ok(
                &http::Method::POST,
                "/pools",
                Some("api-version=2025-06-01"),
                &h,
                "myaccount"
            ),
            Err(AuthError::BadSignature)
        );
        // Unsigned headers may change freely.
        let mut h = get_request();
        h.insert(
            "user-agent",
            "anything".parse().expect("a valid header value"),
        );
        assert!(ok(
            &http::Method::GET,
            "/applications",
            Some(GET_QUERY),
            &h,
            "myaccount"
        )
        .is_ok());
        // Query order does not matter; the canonical form sorts.
        assert!(ok(
            &http::Method::GET,
            "/applications",
            Some("maxresults=10&api-version=2025-06-01"),
            &get_request(),
            "myaccount"
        )
        .is_ok());
    }

    proptest::proptest! {
        /// The no-escape fast path splits exactly as the form parser does.
        #[test]
        fn query_params_match_the_form_parser(q in "[a-c=&%+2B0-9-]{0,40}") {
            let mut want: Vec<(String, String)> = Vec::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if !want.iter().any(|(n, _)| *n == k) {
                    want.push((k.into_owned(), v.into_owned()));
                }
            }
            want.sort();
            let got: Vec<(String, String)> = query_params(&q)
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn standard_slots_follow_the_list() {
        for (i, name) in STANDARD_HEADERS.iter().enumerate() {
            assert_eq!(standard_slot(name), Some(i), "{name}");
        }
        assert_eq!(STANDARD_HEADERS[DATE_SLOT], "date");
        assert_eq!(standard_slot("ocp-date"), None);
    }

    #[test]
    fn date_window_and_missing_date() {
        let k = keys();
        let v = |h: &http::HeaderMap, t: i64| {
            verify(
                &http::Method::GET,
                "/applications",
                Some(GET_QUERY),
                h,
                "myaccount",
                &k,
                t,
            )
        };
        assert!(v(&get_request(), now() - 14 * 60).is_ok());
        // The window is 15 minutes both ways, inclusive.
        assert!(v(&get_request(), now() + 15 * 60).is_ok());
        assert!(v(&get_request(), now() - 15 * 60).is_ok());
        assert_eq!(
            v(&get_request(), now() + 15 * 60 + 1),
            Err(AuthError::DateOutOfWindow)
        );
        assert_eq!(
            v(&get_request(), now() - 15 * 60 - 1),
            Err(AuthError::DateOutOfWindow)
        );
        assert_eq!(
            v(&get_request(), now() + 16 * 60),
            Err(AuthError::DateOutOfWindow)
        );
        assert_eq!(
            v(&get_request(), now() - 16 * 60),
            Err(AuthError::DateOutOfWindow)
        );
        let mut h = get_request();
        h.remove("ocp-date");
        assert_eq!(v(&h, now()), Err(AuthError::MissingDate));
    }

    #[test]
    fn malformed_and_duplicate_headers() {
        let k = keys();
        let v = |h: &http::HeaderMap| {
            verify(
                &http::Method::GET,
                "/applications",
                Some(GET_QUERY),
                h,
                "myaccount",
                &k,
                now(),
            )
        };
        for bad in [
            "SharedKey",
            "SharedKey myaccount",
            "SharedKey :sig",
            "SharedKey myaccount:",
            "Bearer x",
            "sharedkey myaccount:abc",
        ] {
            let mut h = get_request();
            h.insert("authorization", bad.parse().expect("a valid header value"));
            assert!(matches!(v(&h), Err(AuthError::Malformed(_))), "{bad}");
        }
        let mut h = get_request();
        h.append("ocp-date", DATE.parse().expect("a valid header value"));
        assert!(matches!(v(&h), Err(AuthError::Duplicate(_))));
        let mut h = get_request();
        h.append(
            "authorization",
            "SharedKey myaccount:abc"
                .parse()
                .expect("a valid header value"),
        );
        assert!(matches!(v(&h), Err(AuthError::Duplicate(_))));
        let mut h = get_request();
        h.remove("authorization");
        assert_eq!(v(&h), Err(AuthError::Missing));
        let mut h = get_request();
        h.insert(
            "authorization",
            "SharedKey myaccount:not-base64!!"
                .parse()
                .expect("a valid header value"),
        );
        assert_eq!(v(&h), Err(AuthError::BadSignature));
    }

    proptest::proptest! {
        #[test]
        fn canonicalizer_never_panics(path in "[/a-zA-Z0-9%._-]{0,60}", query in "[a-zA-Z0-9=&%+._-]{0,80}", auth in ".{0,80}") {
            let mut h = get_request();
            if let Ok(v) = auth.parse() { h.insert("authorization", v); }
            let _ = verify(&http::Method::GET, &path, Some(&query), &h, "myaccount", &keys(), now());
        }
    }
}
