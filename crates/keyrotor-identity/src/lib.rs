//! keyrotor's token issuer, sans-IO: ES256-signed JWT access tokens, their
//! verification against a set of audiences with an injected clock, and the
//! JWKS document. Key storage is the caller's business.

use std::collections::HashMap;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keyrotor_types::Secret;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the signing key is invalid")]
    BadSigningKey,
    #[error("no signing key is configured")]
    NoSigningKey,
    #[error("token is malformed")]
    Malformed,
    #[error("token is signed with an unsupported algorithm")]
    Algorithm,
    #[error("token is signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    #[error("token was issued for another audience")]
    Audience,
    #[error("token was issued by another issuer")]
    Issuer,
    #[error("signing failed")]
    Signing,
}

/// Allowed clock skew between issuer and verifier.
const LEEWAY_SECONDS: i64 = 300;

/// Claims of a keyrotor access token (Entra v2 shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub sub: String,
    pub oid: String,
    pub tid: String,
    pub appid: String,
    pub azp: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub ver: String,
    pub idtyp: String,
}

struct IssuerKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
}

/// A JSON Web Key Set (public keys only).
#[derive(Debug, Clone, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub crv: &'static str,
    pub kid: String,
    pub x: String,
    pub y: String,
}

/// Signs and verifies tokens of one issuer. The last key given signs; all
/// keys verify (so a retired key keeps verifying until its tokens expire).
pub struct TokenIssuer {
    issuer: String,
    keys: Vec<IssuerKey>,
    by_kid: HashMap<String, usize>,
}

/// The issuer in force, shared by every verifier and replaceable at run
/// time (signing-key rotation).
pub struct IssuerCell {
    current: std::sync::RwLock<std::sync::Arc<TokenIssuer>>,
    /// Bumped by every [`IssuerCell::set`], after the new issuer is in place.
    version: std::sync::atomic::AtomicU64,
    /// Each worker thread's copy of `current` at `version`: a request reads
    /// only its thread's lock word and the shared version, so verifying a
    /// bearer token writes nothing another core writes.
    local: keyrotor_types::Snapshot<std::sync::Arc<TokenIssuer>>,
}

impl IssuerCell {
    pub fn new(issuer: TokenIssuer) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(issuer)),
            version: std::sync::atomic::AtomicU64::new(0),
            local: keyrotor_types::Snapshot::new(),
        }
    }

    /// The current issuer (shared: for the token endpoint and start-up, not
    /// for the per-request path, which uses [`IssuerCell::with`]).
    pub fn get(&self) -> std::sync::Arc<TokenIssuer> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Runs `f` with the current issuer and its version, borrowed from this
    /// thread's copy (refreshed when [`IssuerCell::set`] has replaced the
    /// issuer since).
    pub fn with<R>(&self, f: impl FnOnce(&TokenIssuer, u64) -> R) -> R {
        // The version first: an issuer taken after reading it is at least
        // as new as that version.
        let version = self.version.load(std::sync::atomic::Ordering::Acquire);
        let built: std::result::Result<R, std::convert::Infallible> =
            self.local
                .with(version, || Ok(self.get()), |issuer| f(issuer, version));
        match built {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }

    pub fn set(&self, issuer: TokenIssuer) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(issuer);
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

/// Remembers tokens whose signature already verified, so that a client
/// reusing its token (as every SDK does for about an hour) costs a SHA-256
/// and a hash lookup per request instead of an ECDSA verification. Keyed by
/// the token's SHA-256 (tokens themselves are never stored); expiry and
/// not-before are checked again on every hit; failures are never cached.
/// Bounded: when full, expired entries go, and if that is not enough, all.
///
/// One shard per worker thread (`keyrotor_types::thread_slot`), each bounded
/// by `capacity`: a hit writes no lock word or reference count that another
/// core writes too. A token used on two threads is verified once per thread.
pub struct VerifiedTokens {
    /// Per worker thread, for the issuer version the tokens were verified
    /// under: replacing the issuer (a signing key added or retired) empties
    /// them, so a token is never accepted on a key the issuer no longer has.
    shards: keyrotor_types::Snapshot<TokenMap>,
    capacity: usize,
}

type TokenMap = std::collections::HashMap<[u8; 32], std::sync::Arc<Claims>>;

impl VerifiedTokens {
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: keyrotor_types::Snapshot::new(),
            capacity: capacity.max(1),
        }
    }

    /// [`TokenIssuer::verify_any_audience`] through the cache; `version` is
    /// the issuer's [`IssuerCell`] version.
    pub fn verify(
        &self,
        issuer: &TokenIssuer,
        version: u64,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<std::sync::Arc<Claims>> {
        let mut key = [0u8; 32];
        key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        let t = now.unix_timestamp();
        let hit = self
            .shards
            .read(version, |map| map.get(&key).cloned())
            .flatten();
        if let Some(c) = hit {
            if c.exp + LEEWAY_SECONDS <= t {
                return Err(Error::Expired);
            }
            if c.nbf - LEEWAY_SECONDS > t {
                return Err(Error::NotYetValid);
            }
            return Ok(c);
        }
        let claims = std::sync::Arc::new(issuer.verify_any_audience(token, now)?);
        self.shards.write(version, TokenMap::new, |map| {
            if map.len() >= self.capacity {
                map.retain(|_, c| c.exp + LEEWAY_SECONDS > t);
                if map.len() >= self.capacity {
                    map.clear();
                }
            }
            map.insert(key, claims.clone());
        });
        Ok(claims)
    }
}

/// Generates a new P-256 signing key: (kid, PKCS#8 DER).
pub fn generate_signing_key() -> Result<(String, Vec<u8>)> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| Error::Signing)?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| Error::BadSigningKey)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref());
    let kid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
    Ok((kid, pkcs8.as_ref().to_vec()))
}

impl TokenIssuer {
    /// `keys` are (kid, PKCS#8 DER) pairs, oldest first.
    pub fn new(issuer: String, keys: &[(String, &[u8])]) -> Result<Self> {
        let rng = SystemRandom::new();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut out = Vec::new();
        for (kid, pkcs8) in keys {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                .map_err(|_| Error::BadSigningKey)?;
            let public = pair.public_key().as_ref();
            if public.len() != 65 || public[0] != 4 {
                return Err(Error::BadSigningKey);
            }
            let x = b64.encode(&public[1..33]);
            let y = b64.encode(&public[33..65]);
            let decoding =
                DecodingKey::from_ec_components(&x, &y).map_err(|_| Error::BadSigningKey)?;
            out.push(IssuerKey {
                kid: kid.clone(),
                encoding: EncodingKey::from_ec_der(pkcs8),
                decoding,
                x,
                y,
            });
        }
        if out.is_empty() {
            return Err(Error::NoSigningKey);
        }
        let by_kid = out
            .iter()
            .enumerate()
            .map(|(i, k)| (k.kid.clone(), i))
            .collect();
        Ok(Self {
            issuer,
            keys: out,
            by_kid,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .keys
                .iter()
                .map(|k| Jwk {
                    kty: "EC",
                    use_: "sig",
                    alg: "ES256",
                    crv: "P-256",
                    kid: k.kid.clone(),
                    x: k.x.clone(),
                    y: k.y.clone(),
                })
                .collect(),
        }
    }

    /// Issues an app-only access token for `audience`.
    pub fn issue(
        &self,
        tenant: &str,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
        lifetime_seconds: i64,
    ) -> Result<(Secret, i64)> {
        let key = self.keys.last().ok_or(Error::NoSigningKey)?;
        let iat = now.unix_timestamp();
        let claims = Claims {
            aud: audience.to_string(),
            iss: self.issuer.clone(),
            sub: client_id.to_string(),
            oid: client_id.to_string(),
            tid: tenant.to_string(),
            appid: client_id.to_string(),
            azp: client_id.to_string(),
            iat,
            nbf: iat,
            exp: iat + lifetime_seconds,
            ver: "2.0".into(),
            idtyp: "app".into(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|_| Error::Signing)?;
        Ok((Secret::new(token), claims.exp))
    }

    /// Verifies signature, algorithm, issuer and the validity window; the
    /// caller checks the audience (`claims.aud`) itself.
    pub fn verify_any_audience(&self, token: &str, now: OffsetDateTime) -> Result<Claims> {
        self.verify_inner(token, None, now)
    }

    /// Verifies signature, algorithm, issuer, audience (one of `audiences`,
    /// compared exactly) and the validity window at `now`.
    pub fn verify(&self, token: &str, audiences: &[&str], now: OffsetDateTime) -> Result<Claims> {
        self.verify_inner(token, Some(audiences), now)
    }

    fn verify_inner(
        &self,
        token: &str,
        audiences: Option<&[&str]>,
        now: OffsetDateTime,
    ) -> Result<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Malformed)?;
        if header.alg != Algorithm::ES256 {
            return Err(Error::Algorithm);
        }
        let kid = header.kid.ok_or(Error::UnknownKey)?;
        let key = self
            .by_kid
            .get(&kid)
            .and_then(|&i| self.keys.get(i))
            .ok_or(Error::UnknownKey)?;
        let mut v = Validation::new(Algorithm::ES256);
        // Time is checked below against the injected clock.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims = ["exp", "nbf", "aud", "iss", "sub"]
            .into_iter()
            .map(String::from)
            .collect();
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Error::Signature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => Error::Algorithm,
            _ => Error::Malformed,
        })?;
        let c = data.claims;
        if c.iss != self.issuer {
            return Err(Error::Issuer);
        }
        if audiences.is_some_and(|list| !list.iter().any(|a| *a == c.aud)) {
            return Err(Error::Audience);
        }
        let t = now.unix_timestamp();
        if c.exp + LEEWAY_SECONDS <= t {
            return Err(Error::Expired);
        }
        if c.nbf - LEEWAY_SECONDS > t {
            return Err(Error::NotYetValid);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        let (kid, pkcs8) = generate_signing_key().expect("a signing key");
        TokenIssuer::new("https://iss/t/v2.0".into(), &[(kid, &pkcs8)]).expect("an issuer")
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// A replaced issuer is the one every thread verifies with from then on
    /// (signing-key rotation must take effect on the next request).
    #[test]
    fn a_replaced_issuer_is_seen_by_every_thread() {
        let named = |name: &str| {
            let (kid, pkcs8) = generate_signing_key().expect("a signing key");
            TokenIssuer::new(name.into(), &[(kid, &pkcs8)]).expect("an issuer")
        };
        let cell = std::sync::Arc::new(IssuerCell::new(named("first")));
        let on_other_thread = |cell: &std::sync::Arc<IssuerCell>| {
            let cell = cell.clone();
            std::thread::spawn(move || cell.with(|i, _| i.issuer().to_string()))
                .join()
                .expect("the other thread ran")
        };
        assert_eq!(cell.with(|i, _| i.issuer().to_string()), "first");
        assert_eq!(on_other_thread(&cell), "first");
        cell.set(named("second"));
        assert_eq!(cell.with(|i, _| i.issuer().to_string()), "second");
        assert_eq!(on_other_thread(&cell), "second");
        assert_eq!(cell.get().issuer(), "second");
    }

    #[test]
    fn issued_tokens_verify() {
        let i = issuer();
        let (t, _) = i.issue("t", "c", "aud1", now(), 3600).expect("a token");
        let c = i
            .verify(t.expose(), &["aud0", "aud1"], now())
            .expect("the token verifies");
        assert_eq!(c.appid, "c");
    }

    #[test]
    fn wrong_audience_expiry_issuer_key_are_refused() {
        let i = issuer();
        let (t, _) = i.issue("t", "c", "aud1", now(), 3600).expect("a token");
        assert!(matches!(
            i.verify(t.expose(), &["other"], now()),
            Err(Error::Audience)
        ));
        let later = now() + time::Duration::hours(3);
        assert!(matches!(
            i.verify(t.expose(), &["aud1"], later),
            Err(Error::Expired)
        ));
        let earlier = now() - time::Duration::hours(3);
        assert!(matches!(
            i.verify(t.expose(), &["aud1"], earlier),
            Err(Error::NotYetValid)
        ));
        // Another issuer's key (same kid space) cannot sign for us.
        let j = issuer();
        assert!(matches!(
            j.verify(t.expose(), &["aud1"], now()),
            Err(Error::UnknownKey)
        ));
        let (kid, pkcs8) = generate_signing_key().expect("a signing key");
        let other =
            TokenIssuer::new("https://evil/v2.0".into(), &[(kid, &pkcs8)]).expect("an issuer");
        let (t2, _) = other.issue("t", "c", "aud1", now(), 3600).expect("a token");
        assert!(i.verify(t2.expose(), &["aud1"], now()).is_err());
    }

    #[test]
    fn forged_and_alg_none_tokens_are_refused() {
        let i = issuer();
        let (t, _) = i.issue("t", "c", "aud1", now(), 3600).expect("a token");
        let parts: Vec<&str> = t.expose().split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // Payload swapped: signature no longer matches.
        let evil_claims = b64.encode(br#"{"aud":"aud1","iss":"https://iss/t/v2.0","sub":"admin","oid":"x","tid":"t","appid":"x","azp":"x","iat":0,"nbf":0,"exp":99999999999,"ver":"2.0","idtyp":"app"}"#);
        let forged = format!("{}.{}.{}", parts[0], evil_claims, parts[2]);
        assert!(matches!(
            i.verify(&forged, &["aud1"], now()),
            Err(Error::Signature)
        ));
        let none_header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(i
            .verify(&format!("{none_header}.{evil_claims}."), &["aud1"], now())
            .is_err());
        let hs_header = b64.encode(br#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
        assert!(matches!(
            i.verify(&format!("{hs_header}.{evil_claims}.c2ln"), &["aud1"], now()),
            Err(Error::Algorithm)
        ));
        assert!(i.verify("garbage", &["aud1"], now()).is_err());
    }

    #[test]
    fn retired_keys_still_verify_and_newest_signs() {
        let (k1, p1) = generate_signing_key().expect("a signing key");
        let old = TokenIssuer::new("i".into(), &[(k1.clone(), &p1)]).expect("an issuer");
        let (t, _) = old.issue("t", "c", "a", now(), 60).expect("a token");
        let (k2, p2) = generate_signing_key().expect("a signing key");
        let both = TokenIssuer::new("i".into(), &[(k1, &p1), (k2.clone(), &p2)])
            .expect("an issuer with both keys");
        assert!(both.verify(t.expose(), &["a"], now()).is_ok());
        let (t2, _) = both.issue("t", "c", "a", now(), 60).expect("a token");
        let h = jsonwebtoken::decode_header(t2.expose()).expect("a JWT header");
        assert_eq!(h.kid.as_deref(), Some(k2.as_str()));
        assert_eq!(both.jwks().keys.len(), 2);
    }

    #[test]
    fn verified_tokens_recheck_time_and_never_cache_failures() {
        let iss = issuer();
        let cache = VerifiedTokens::new(2);
        let t0 = now();
        let (tok, _) = iss
            .issue("t", "c", "https://cosmos.azure.com", t0, 600)
            .expect("a token");
        let c = cache
            .verify(&iss, 0, tok.expose(), t0)
            .expect("the token verifies");
        assert_eq!(c.appid, "c");
        // A hit still expires on time.
        assert!(matches!(
            cache.verify(
                &iss,
                0,
                tok.expose(),
                t0 + time::Duration::seconds(600 + LEEWAY_SECONDS + 1)
            ),
            Err(Error::Expired)
        ));
        assert!(cache.verify(&iss, 0, tok.expose(), t0).is_ok());
        // A tampered token is refused and stays refused.
        // Change one character inside the signature (not the last one, whose
        // low bits base64 decoders may ignore).
        let mut bad = tok.expose().as_bytes().to_vec();
        let i = bad.len() - 10;
        bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap_or_default();
        for _ in 0..2 {
            assert!(cache.verify(&iss, 0, &bad, t0).is_err());
        }
        // Another issuer (a new version) does not accept the cached entry.
        let other = TokenIssuer::new(
            "https://other/t/v2.0".into(),
            &[generate_signing_key().expect("a signing key")]
                .iter()
                .map(|(k, p)| (k.clone(), p.as_slice()))
                .collect::<Vec<_>>(),
        )
        .expect("an issuer");
        assert!(cache.verify(&other, 1, tok.expose(), t0).is_err());
        // Capacity is bounded.
        for i in 0..5 {
            let (t, _) = iss
                .issue("t", &format!("c{i}"), "a", t0, 600)
                .expect("a token");
            assert!(cache.verify(&iss, 1, t.expose(), t0).is_ok());
        }
        assert!(cache.shards.read(1, |m| m.len()).unwrap_or(0) <= 2);
    }
}
