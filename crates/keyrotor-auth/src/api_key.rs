//! `api-key` (Azure OpenAI) and `Ocp-Apim-Subscription-Key` (Cognitive
//! Services) headers: the key itself, compared in constant time with every
//! current key.

use crate::{single, AuthError, CandidateKey, Verified};

/// Header names carrying an AI Services key, in the order they are checked.
pub static HEADERS: [http::HeaderName; 2] = [
    http::HeaderName::from_static("api-key"),
    http::HeaderName::from_static("ocp-apim-subscription-key"),
];

pub fn verify(headers: &http::HeaderMap, keys: &[CandidateKey]) -> Result<Verified, AuthError> {
    let mut presented = None;
    for name in &HEADERS {
        if let Some(v) = single(headers, name)? {
            if presented.is_some() {
                return Err(AuthError::Duplicate("api-key"));
            }
            presented = Some(v.trim());
        }
    }
    let presented = presented.ok_or(AuthError::Missing)?;
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
            m.append(*k, v.parse().unwrap_or_else(|e| panic!("{e}")));
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
