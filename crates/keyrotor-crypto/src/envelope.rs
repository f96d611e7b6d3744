//! Envelope encryption of an account's records: a [`DataKey`] (DEK) per
//! account, stored only wrapped (by the [`RootKey`] today, by a vault key
//! version later), seals each record with AES-256-GCM under associated data
//! that binds the record to its place ([`record_aad`]).
//!
//! Record blob: `0x02 || nonce(12) || ciphertext || tag(16)`. The DEK that
//! sealed a record is named beside it (a column), and bound into its
//! associated data, not stored in the blob.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::{Error, Result, RootKey};

/// Format marker of a record sealed under a data key.
const RECORD_V1: u8 = 2;
const TAG_LEN: usize = 16;
const DEK_LEN: usize = 32;

/// A 256-bit data-encryption key, unwrapped. The raw bytes are zeroized on
/// drop; the AES key schedule lives in AWS-LC's own allocation, which it
/// cleanses when freed. `Debug` prints only that it is redacted.
pub struct DataKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([REDACTED])")
    }
}

impl DataKey {
    /// A new random data key, with its raw bytes (to wrap; zeroized on drop).
    pub fn generate() -> Result<(Self, Zeroizing<[u8; DEK_LEN]>)> {
        let mut bytes = Zeroizing::new([0u8; DEK_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| Error::Rng)?;
        Ok((Self::from_bytes(bytes.as_ref())?, bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != DEK_LEN {
            return Err(Error::Malformed);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| Error::Malformed)?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// A new data key wrapped by the root key, bound to `context` (the
    /// account and the key's id): the key, and the wrapped form to store.
    pub fn generate_wrapped(root: &RootKey, context: &[u8]) -> Result<(Self, Vec<u8>)> {
        let (key, bytes) = Self::generate()?;
        let wrapped = root.seal(context, bytes.as_ref())?;
        Ok((key, wrapped))
    }

    /// Unwraps a data key wrapped by [`DataKey::generate_wrapped`] with the
    /// same `context`.
    pub fn unwrap_with(root: &RootKey, context: &[u8], wrapped: &[u8]) -> Result<Self> {
        let bytes = root.open(context, wrapped)?;
        Self::from_bytes(&bytes)
    }

    /// Seals a record under this key, bound to `aad` (see [`record_aad`]).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Rng)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(RECORD_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| Error::Unauthentic)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a record sealed by [`DataKey::seal`] with the same `aad`.
    /// Another key, other associated data or any changed byte is refused.
    pub fn open(&self, aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != RECORD_V1 {
            return Err(Error::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&blob[1..1 + NONCE_LEN])
            .map_err(|_| Error::Malformed)?;
        let mut body = Zeroizing::new(blob[1 + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| Error::Unauthentic)?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

impl DataKey {
    /// [`DataKey::open`] in place, for records that are not key material
    /// (data-plane items): the stored blob becomes the plaintext, no copy,
    /// and it is not zeroized on drop (the caller hands it on as text).
    pub fn open_owned(&self, aad: &[u8], mut blob: Vec<u8>) -> Result<Vec<u8>> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != RECORD_V1 {
            return Err(Error::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&blob[1..1 + NONCE_LEN])
            .map_err(|_| Error::Malformed)?;
        let len = self
            .key
            .open_within(nonce, Aad::from(aad), &mut blob, 1 + NONCE_LEN..)
            .map_err(|_| Error::Unauthentic)?
            .len();
        blob.truncate(len);
        Ok(blob)
    }
}

/// Associated data of one sealed record: each part length-prefixed, so no
/// two different lists of parts give the same bytes (no part can be moved
/// into its neighbour).
pub fn record_aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum::<usize>() + 16);
    out.extend_from_slice(b"keyrotor/record/v1");
    for p in parts {
        out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> RootKey {
        RootKey::generate().expect("a root key").0
    }

    #[test]
    fn a_record_opens_only_with_its_key_and_binding() {
        let (k, _) = DataKey::generate().expect("a data key");
        let aad = record_aad(&[b"acct-1", b"item", b"dbs/a", b"doc1"]);
        let blob = k.seal(&aad, b"{\"secret\":42}").expect("sealed");
        assert!(!blob.windows(6).any(|w| w == b"secret"));
        assert_eq!(&k.open(&aad, &blob).expect("opens")[..], b"{\"secret\":42}");
        // Moved to another record or account: refused.
        for other in [
            record_aad(&[b"acct-2", b"item", b"dbs/a", b"doc1"]),
            record_aad(&[b"acct-1", b"item", b"dbs/a", b"doc2"]),
            record_aad(&[b"acct-1", b"key", b"dbs/a", b"doc1"]),
            // The same bytes split differently are other associated data.
            record_aad(&[b"acct-1", b"item", b"dbs/ad", b"oc1"]),
        ] {
            assert!(matches!(k.open(&other, &blob), Err(Error::Unauthentic)));
        }
        assert_eq!(
            k.open_owned(&aad, blob.clone()).expect("opens in place"),
            b"{\"secret\":42}".to_vec()
        );
        assert!(matches!(
            k.open_owned(&record_aad(&[b"acct-2"]), blob.clone()),
            Err(Error::Unauthentic)
        ));
        // Another data key: refused.
        let (k2, _) = DataKey::generate().expect("a data key");
        assert!(matches!(k2.open(&aad, &blob), Err(Error::Unauthentic)));
        // Any flipped byte: refused.
        for i in 1..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x40;
            assert!(matches!(k.open(&aad, &t), Err(Error::Unauthentic)), "{i}");
            assert!(
                matches!(k.open_owned(&aad, t.clone()), Err(Error::Unauthentic)),
                "{i}"
            );
        }
        let mut t = blob.clone();
        t[0] = 1;
        assert!(matches!(k.open(&aad, &t), Err(Error::Malformed)));
        assert!(matches!(k.open(&aad, &blob[..20]), Err(Error::Malformed)));
        // Two seals of one value differ (random nonces).
        assert_ne!(blob, k.seal(&aad, b"{\"secret\":42}").expect("sealed"));
    }

    #[test]
    fn a_wrapped_key_unwraps_only_under_its_root_key_and_context() {
        let r = root();
        let (k, wrapped) = DataKey::generate_wrapped(&r, b"dek/acct-1/d1").expect("wrapped");
        let aad = record_aad(&[b"x"]);
        let blob = k.seal(&aad, b"value").expect("sealed");
        let back = DataKey::unwrap_with(&r, b"dek/acct-1/d1", &wrapped).expect("unwraps");
        assert_eq!(&back.open(&aad, &blob).expect("opens")[..], b"value");
        assert!(matches!(
            DataKey::unwrap_with(&r, b"dek/acct-2/d1", &wrapped),
            Err(Error::Unauthentic)
        ));
        assert!(matches!(
            DataKey::unwrap_with(&root(), b"dek/acct-1/d1", &wrapped),
            Err(Error::WrongRootKey(_))
        ));
        assert_eq!(format!("{back:?}"), "DataKey([REDACTED])");
    }

    proptest::proptest! {
        #[test]
        fn open_never_panics_on_garbage(blob in proptest::collection::vec(0u8..=255, 0..80)) {
            let (k, _) = DataKey::generate().expect("a data key");
            let _ = k.open(b"aad", &blob);
            let _ = k.open_owned(b"aad", blob);
        }
    }
}
