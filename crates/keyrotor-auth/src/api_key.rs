//! `api-key` (Azure OpenAI) and `Ocp-Apim-Subscription-Key` (Cognitive
//! Services) headers: the key itself, compared in constant time with every
//! current key.

use crate::{AuthError, CandidateKey, HeaderScan, Verified};

/// The header names carrying an AI Services key.
pub static API_KEY: http::HeaderName = http::HeaderName::from_static("api-key");
pub static SUBSCRIPTION_KEY: http::HeaderName =
    http::HeaderName::from_static("ocp-apim-subscription-key");

pub fn verify(headers: &http::HeaderMap, keys: &[CandidateKey]) -> Result<Verified, AuthError> {
    static NAMES: [&http::HeaderName; 2] = [&API_KEY, &SUBSCRIPTION_KEY];
    let scan = HeaderScan::new(headers, &NAMES);
    verify_presented(scan.single(0)?, scan.single(1)?, keys)
}

/// [`verify`] with the two key headers already read (each single): one key,
/// in either header, not both.
pub fn verify_presented(
    api_key: Option<&str>,
    subscription_key: Option<&str>,
    keys: &[CandidateKey],
) -> Result<Verified, AuthError> {
    let presented = match (api_key, subscription_key) {
        (Some(_), Some(_)) => return Err(AuthError::Duplicate("api-key")),
        (Some(k), None) | (None, Some(k)) => k.trim(),
        (None, None) => return Err(AuthError::Missing),
    };
    let mut found = None;
    for k in keys {
        let eq = k.text.ct_eq(presented);
        if eq && found.is_none() {
            found = Some(k.slot);
        }
    }
    found
        .map(|slot| Verified { slot })
        .ok_or(AuthError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyrotor_types::{KeySlot, Secret};

    fn keys() -> Vec<CandidateKey> {
        vec![
            CandidateKey::new(
                KeySlot::Primary,
                Secret::new("0123456789abcdef0123456789abcdef".into()),
            ),
            CandidateKey::new(
                KeySlot::Secondary,
                Secret::new("fedcba9876543210fedcba9876543210".into()),
            ),
        ]
    }

    fn h(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut m = http::HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, v.parse().expect("a valid header value"));
        }
        m
    }

    #[test]
    fn either_header_either_key() {
        assert_eq!(
            verify(
                &h(&[("api-key", "0123456789abcdef0123456789abcdef")]),
                &keys()
            ),
            Ok(Verified {
                slot: KeySlot::Primary
            })
        );
        assert_eq!(
            verify(
                &h(&[(
                    "Ocp-Apim-Subscription-Key",
                    "fedcba9876543210fedcba9876543210"
                )]),
                &keys()
            ),
            Ok(Verified {
                slot: KeySlot::Secondary
            })
        );
    }

    #[test]
    fn wrong_missing_duplicate() {
        assert_eq!(
            verify(
                &h(&[("api-key", "0123456789abcdef0123456789abcdee")]),
                &keys()
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(&h(&[("api-key", "0123")]), &keys()),
            Err(AuthError::BadSignature)
        );
        assert_eq!(verify(&h(&[]), &keys()), Err(AuthError::Missing));
        assert!(matches!(
            verify(
                &h(&[
                    ("api-key", "0123456789abcdef0123456789abcdef"),
                    ("api-key", "x")
                ]),
                &keys()
            ),
            Err(AuthError::Duplicate(_))
        ));
        assert!(matches!(
            verify(
                &h(&[
                    ("api-key", "0123456789abcdef0123456789abcdef"),
                    (
                        "ocp-apim-subscription-key",
                        "0123456789abcdef0123456789abcdef"
                    )
                ]),
                &keys()
            ),
            Err(AuthError::Duplicate(_))
        ));
        assert_eq!(
            verify(&h(&[("api-key", "")]), &keys()),
            Err(AuthError::BadSignature)
        );
    }
}
