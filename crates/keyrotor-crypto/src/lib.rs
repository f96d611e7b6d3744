//! Cryptography for keyrotor, with no knowledge of HTTP or storage.
//!
//! * [`RootKey`]: the AES-256-GCM key under which every stored secret is sealed.
//! * [`generate_account_key`]: account keys in the format each real service uses.
//! * [`random_secret`]: other random credentials (client secrets, ids).
//! * [`envelope`]: an account's data keys (DEKs) and the records sealed under them.
//! * [`vault`]: Key Vault key material (RSA, EC, oct) and wrap/unwrap.

pub mod envelope;
pub mod vault;

use base64::Engine as _;
use keyrotor_types::{AccountKind, Secret};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("root key must be exactly 32 bytes (64 hex characters or 44 base64 characters)")]
    BadRootKey,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value was made under another root key (key id {0})")]
    WrongRootKey(String),
    #[error("sealed value failed authentication (tampered, swapped or corrupt)")]
    Unauthentic,
    #[error("the system random number generator failed")]
    Rng,
}

/// Format marker of a sealed blob: `0x01 || key-id(4) || nonce(12) || ciphertext || tag(16)`.
const SEAL_V1: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;

/// The service root key. Never leaves this type; `Debug` is redacted.
pub struct RootKey {
    key: LessSafeKey,
    id: [u8; KEY_ID_LEN],
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RootKey(id={})", hex::encode(self.id))
    }
}

impl RootKey {
    /// A new random root key and its text encoding (hex) for storing in a file.
    pub fn generate() -> Result<(Self, Secret)> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| Error::Rng)?;
        let text = Secret::new(hex::encode(bytes.as_ref()));
        Ok((Self::from_bytes(bytes.as_ref())?, text))
    }

    /// Parses a root key given as 64 hex characters or standard base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            hex::decode(text)
                .ok()
                .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
                .ok_or(Error::BadRootKey)?,
        );
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 32 {
            return Err(Error::BadRootKey);
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest.as_ref()[..KEY_ID_LEN]);
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| Error::BadRootKey)?;
        Ok(Self {
            key: LessSafeKey::new(key),
            id,
        })
    }

    /// Short public identifier of this root key (not secret).
    pub fn id(&self) -> String {
        hex::encode(self.id)
    }

    /// Seals `plaintext`, binding it to `context` (authenticated, not stored):
    /// a blob sealed for one account slot cannot be opened as another's.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| Error::Rng)?;
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + plaintext.len() + 16);
        out.push(SEAL_V1);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| Error::Unauthentic)?;
        out.extend_from_slice(&body);
        body.iter_mut().for_each(|b| *b = 0);
        Ok(out)
    }

    /// Opens a blob made by [`RootKey::seal`] with the same `context`.
    pub fn open(&self, context: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let header = 1 + KEY_ID_LEN + NONCE_LEN;
        if blob.len() < header + aead::AES_256_GCM.tag_len() || blob[0] != SEAL_V1 {
            return Err(Error::Malformed);
        }
        if blob[1..1 + KEY_ID_LEN] != self.id {
            return Err(Error::WrongRootKey(hex::encode(&blob[1..1 + KEY_ID_LEN])));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[1 + KEY_ID_LEN..header]);
        let mut body = Zeroizing::new(blob[header..].to_vec());
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut body,
            )
            .map_err(|_| Error::Unauthentic)?
            .len();
        body.truncate(len);
        Ok(body)
    }

    /// Seals secret text.
    pub fn seal_secret(&self, context: &[u8], secret: &Secret) -> Result<Vec<u8>> {
        self.seal(context, secret.expose().as_bytes())
    }

    /// Opens secret text sealed by [`RootKey::seal_secret`].
    pub fn open_secret(&self, context: &[u8], blob: &[u8]) -> Result<Secret> {
        let bytes = self.open(context, blob)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::Malformed)?;
        Ok(Secret::new(text.to_string()))
    }
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut b = Zeroizing::new([0u8; N]);
    SystemRandom::new()
        .fill(b.as_mut())
        .map_err(|_| Error::Rng)?;
    Ok(b)
}

/// A new account key in the format the real service uses:
/// Cosmos DB and Batch: 64 random bytes, standard base64 (88 characters);
/// AI Services: 16 random bytes as 32 lower-case hex characters.
pub fn generate_account_key(kind: AccountKind) -> Result<Secret> {
    Ok(match kind {
        AccountKind::Cosmos | AccountKind::Batch => {
            let b = random_bytes::<64>()?;
            Secret::new(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
        }
        AccountKind::Ai => {
            let b = random_bytes::<16>()?;
            Secret::new(hex::encode(b.as_ref()))
        }
    })
}

/// A random URL-safe credential of `bytes` bytes of entropy (client secrets).
pub fn random_secret(bytes: usize) -> Result<Secret> {
    let mut b = Zeroizing::new(vec![0u8; bytes]);
    SystemRandom::new().fill(&mut b).map_err(|_| Error::Rng)?;
    Ok(Secret::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*b),
    ))
}

/// A random GUID-formatted identifier (version 4).
pub fn random_guid() -> Result<String> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b.as_ref());
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// SHA-256 digest, hex encoded (used to store client-secret verifiers).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// Constant-time equality of two byte strings (length is not hidden).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    keyrotor_types::ct_eq(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RootKey {
        RootKey::generate().expect("a root key").0
    }

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let k = key();
        let blob = k
            .seal(b"acct/1/primary", b"hello")
            .expect("sealing succeeds");
        assert!(!blob.windows(5).any(|w| w == b"hello"));
        let back = k
            .open(b"acct/1/primary", &blob)
            .expect("the blob opens with its context");
        assert_eq!(&back[..], b"hello");
        assert!(matches!(
            k.open(b"acct/1/secondary", &blob),
            Err(Error::Unauthentic)
        ));
        let mut tampered = blob.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            k.open(b"acct/1/primary", &tampered),
            Err(Error::Unauthentic)
        ));
        assert!(matches!(
            key().open(b"acct/1/primary", &blob),
            Err(Error::WrongRootKey(_))
        ));
        assert!(matches!(k.open(b"x", &blob[..10]), Err(Error::Malformed)));
    }

    #[test]
    fn root_key_parsing() {
        let (k, text) = RootKey::generate().expect("a root key");
        let again = RootKey::parse(text.expose()).expect("the root key text parses");
        assert_eq!(k.id(), again.id());
        assert!(RootKey::parse("abcd").is_err());
        assert!(!format!("{k:?}").contains(text.expose()));
    }

    #[test]
    fn account_key_formats() {
        let c = generate_account_key(AccountKind::Cosmos).expect("a Cosmos key");
        assert_eq!(c.expose().len(), 88);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(c.expose())
            .expect("the key is base64");
        assert_eq!(raw.len(), 64);
        let a = generate_account_key(AccountKind::Ai).expect("an AI key");
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(
            generate_account_key(AccountKind::Batch).expect("a Batch key"),
            generate_account_key(AccountKind::Batch).expect("a Batch key")
        );
    }

    #[test]
    fn guid_shape() {
        let g = random_guid().expect("a GUID");
        assert!(keyrotor_types::SubscriptionId::parse(&g).is_ok());
        assert_eq!(&g[14..15], "4");
    }

    proptest::proptest! {
        #[test]
        fn open_never_panics_on_garbage(blob in proptest::collection::vec(0u8..=255, 0..80)) {
            let k = key();
            let _ = k.open(b"ctx", &blob);
        }
    }
}
