//! Key Vault key material: generation and the operations a vault performs
//! with keys that never leave it (AWS-LC through aws-lc-rs: constant-time RSA
//! decryption, FIPS-validated primitives).
//!
//! Material is kept as PKCS#8 DER (RSA, EC) or raw bytes (oct) inside
//! `Zeroizing` buffers; [`KeyMaterial::to_bytes`] is what the store seals
//! under the root key. Only public parts ([`PublicParts`]) ever leave.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::key_wrap::{AesKek, KeyWrap, AES_256};
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};
use std::sync::OnceLock;

use zeroize::Zeroizing;

/// Why a vault key operation failed. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultCryptoError {
    #[error("unsupported key size or curve")]
    BadKeySpec,
    #[error("the algorithm '{0}' cannot be used with this key type")]
    WrongAlgorithm(String),
    #[error("the input is not valid for this operation")]
    BadInput,
    #[error("decryption or unwrapping failed (wrong key, version, algorithm, or tampered data)")]
    Unauthentic,
    #[error("stored key material is malformed")]
    Malformed,
    #[error("the cryptographic library failed")]
    Library,
}

type Result<T> = std::result::Result<T, VaultCryptoError>;

/// A key's type and size as Key Vault names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    Rsa(u32),
    Ec(Curve),
    Oct(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    fn signing(self) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Curve::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            Curve::P521 => &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }
}

/// Wrap / encrypt algorithms offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapAlg {
    RsaOaep,
    RsaOaep256,
    A256Kw,
}

impl WrapAlg {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSA-OAEP" => Some(WrapAlg::RsaOaep),
            "RSA-OAEP-256" => Some(WrapAlg::RsaOaep256),
            "A256KW" => Some(WrapAlg::A256Kw),
            _ => None,
        }
    }

    fn oaep(self) -> Option<&'static OaepAlgorithm> {
        match self {
            WrapAlg::RsaOaep => Some(&OAEP_SHA1_MGF1SHA1),
            WrapAlg::RsaOaep256 => Some(&OAEP_SHA256_MGF1SHA256),
            WrapAlg::A256Kw => None,
        }
    }
}

/// Signature algorithms (JWS names); the input is a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
}

impl SignAlg {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RS256" => SignAlg::Rs256,
            "RS384" => SignAlg::Rs384,
            "RS512" => SignAlg::Rs512,
            "PS256" => SignAlg::Ps256,
            "PS384" => SignAlg::Ps384,
            "PS512" => SignAlg::Ps512,
            "ES256" => SignAlg::Es256,
            "ES384" => SignAlg::Es384,
            "ES512" => SignAlg::Es512,
            _ => return None,
        })
    }

    fn digest(self) -> &'static aws_lc_rs::digest::Algorithm {
        use aws_lc_rs::digest::{SHA256, SHA384, SHA512};
        match self {
            SignAlg::Rs256 | SignAlg::Ps256 | SignAlg::Es256 => &SHA256,
            SignAlg::Rs384 | SignAlg::Ps384 | SignAlg::Es384 => &SHA384,
            SignAlg::Rs512 | SignAlg::Ps512 | SignAlg::Es512 => &SHA512,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SignAlg::Rs256 => "RS256",
            SignAlg::Rs384 => "RS384",
            SignAlg::Rs512 => "RS512",
            SignAlg::Ps256 => "PS256",
            SignAlg::Ps384 => "PS384",
            SignAlg::Ps512 => "PS512",
            SignAlg::Es256 => "ES256",
            SignAlg::Es384 => "ES384",
            SignAlg::Es512 => "ES512",
        }
    }
}

/// The public parts of a key (big-endian, no leading zeros), for JWKs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicParts {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// Symmetric keys have no public part.
    Oct,
}

/// Private key material. `Debug` shows the spec only.
pub struct KeyMaterial {
    spec: KeySpec,
    /// PKCS#8 DER (RSA, EC) or the raw key (oct).
    der: Zeroizing<Vec<u8>>,
    /// Parsed forms, made on first use: parsing (and validating) an RSA key
    /// costs more than using it, so a cached `KeyMaterial` pays it once.
    rsa_dec: OnceLock<OaepPrivateDecryptingKey>,
    rsa_enc: OnceLock<OaepPublicEncryptingKey>,
    rsa_pair: OnceLock<RsaKeyPair>,
    ec_pair: OnceLock<EcdsaKeyPair>,
}

/// `OnceLock::get_or_try_init` on stable: the value, made by `f` if absent.
fn lazy<T>(cell: &OnceLock<T>, f: impl FnOnce() -> Result<T>) -> Result<&T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = f()?;
    Ok(cell.get_or_init(|| v))
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

const TAG_RSA: u8 = 1;
const TAG_EC: u8 = 2;
const TAG_OCT: u8 = 3;

impl KeyMaterial {
    fn new(spec: KeySpec, der: Vec<u8>) -> Self {
        Self {
            spec,
            der: Zeroizing::new(der),
            rsa_dec: OnceLock::new(),
            rsa_enc: OnceLock::new(),
            rsa_pair: OnceLock::new(),
            ec_pair: OnceLock::new(),
        }
    }

    fn rsa_pair(&self) -> Result<&RsaKeyPair> {
        lazy(&self.rsa_pair, || {
            RsaKeyPair::from_pkcs8(&self.der).map_err(|_| VaultCryptoError::Malformed)
        })
    }

    fn ec_pair(&self, curve: Curve) -> Result<&EcdsaKeyPair> {
        lazy(&self.ec_pair, || {
            EcdsaKeyPair::from_pkcs8(curve.signing(), &self.der)
                .map_err(|_| VaultCryptoError::Malformed)
        })
    }

    fn rsa_dec(&self) -> Result<&OaepPrivateDecryptingKey> {
        lazy(&self.rsa_dec, || {
            let k = PrivateDecryptingKey::from_pkcs8(&self.der)
                .map_err(|_| VaultCryptoError::Malformed)?;
            OaepPrivateDecryptingKey::new(k).map_err(|_| VaultCryptoError::Library)
        })
    }

    fn rsa_enc(&self) -> Result<&OaepPublicEncryptingKey> {
        lazy(&self.rsa_enc, || {
            let k = PrivateDecryptingKey::from_pkcs8(&self.der)
                .map_err(|_| VaultCryptoError::Malformed)?;
            OaepPublicEncryptingKey::new(k.public_key()).map_err(|_| VaultCryptoError::Library)
        })
    }

    /// Generates a new key. RSA 2048/3072/4096, EC P-256/P-384/P-521, oct 256.
    pub fn generate(spec: KeySpec) -> Result<Self> {
        let der: Vec<u8> = match spec {
            KeySpec::Rsa(bits) => {
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => return Err(VaultCryptoError::BadKeySpec),
                };
                let k =
                    PrivateDecryptingKey::generate(size).map_err(|_| VaultCryptoError::Library)?;
                k.as_der()
                    .map_err(|_| VaultCryptoError::Library)?
                    .as_ref()
                    .to_vec()
            }
            KeySpec::Ec(curve) => {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                EcdsaKeyPair::generate_pkcs8(curve.signing(), &rng)
                    .map_err(|_| VaultCryptoError::Library)?
                    .as_ref()
                    .to_vec()
            }
            KeySpec::Oct(bits) => {
                if bits != 256 {
                    return Err(VaultCryptoError::BadKeySpec);
                }
                let mut k = vec![0u8; 32];
                aws_lc_rs::rand::fill(&mut k).map_err(|_| VaultCryptoError::Library)?;
                k
            }
        };
        Ok(Self::new(spec, der))
    }

    /// An existing RSA private key (PKCS#8 DER), e.g. for import or tests.
    pub fn import_rsa_pkcs8(der: &[u8]) -> Result<Self> {
        let kp = RsaKeyPair::from_pkcs8(der).map_err(|_| VaultCryptoError::Malformed)?;
        let bits =
            u32::try_from(kp.public_modulus_len() * 8).map_err(|_| VaultCryptoError::Malformed)?;
        if ![2048, 3072, 4096].contains(&bits) {
            return Err(VaultCryptoError::BadKeySpec);
        }
        Ok(Self::new(KeySpec::Rsa(bits), der.to_vec()))
    }

    /// An existing 256-bit AES key.
    pub fn import_oct(raw: &[u8]) -> Result<Self> {
        if raw.len() != 32 {
            return Err(VaultCryptoError::BadKeySpec);
        }
        Ok(Self::new(KeySpec::Oct(256), raw.to_vec()))
    }

    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// Serialized form to seal: tag, size or curve, material.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let (tag, param): (u8, u16) = match self.spec {
            KeySpec::Rsa(b) => (TAG_RSA, u16::try_from(b).unwrap_or(0)),
            KeySpec::Ec(c) => (
                TAG_EC,
                match c {
                    Curve::P256 => 256,
                    Curve::P384 => 384,
                    Curve::P521 => 521,
                },
            ),
            KeySpec::Oct(b) => (TAG_OCT, u16::try_from(b).unwrap_or(0)),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(3 + self.der.len()));
        out.push(tag);
        out.extend_from_slice(&param.to_be_bytes());
        out.extend_from_slice(&self.der);
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() < 4 {
            return Err(VaultCryptoError::Malformed);
        }
        let param = u16::from_be_bytes([b[1], b[2]]);
        let spec = match (b[0], param) {
            (TAG_RSA, bits) => KeySpec::Rsa(u32::from(bits)),
            (TAG_EC, 256) => KeySpec::Ec(Curve::P256),
            (TAG_EC, 384) => KeySpec::Ec(Curve::P384),
            (TAG_EC, 521) => KeySpec::Ec(Curve::P521),
            (TAG_OCT, bits) => KeySpec::Oct(u32::from(bits)),
            _ => return Err(VaultCryptoError::Malformed),
        };
        Ok(Self::new(spec, b[3..].to_vec()))
    }

    /// The public parts (what a JWK in a response may show).
    pub fn public(&self) -> Result<PublicParts> {
        match self.spec {
            KeySpec::Rsa(_) => {
                let kp = self.rsa_pair()?;
                let pk = kp.public_key();
                Ok(PublicParts::Rsa {
                    n: pk.modulus().big_endian_without_leading_zero().to_vec(),
                    e: pk.exponent().big_endian_without_leading_zero().to_vec(),
                })
            }
            KeySpec::Ec(curve) => {
                let kp = self.ec_pair(curve)?;
                let point = kp.public_key().as_ref();
                // Uncompressed point: 0x04 || x || y.
                let len = (point.len().saturating_sub(1)) / 2;
                if point.first() != Some(&4) || point.len() != 1 + 2 * len {
                    return Err(VaultCryptoError::Malformed);
                }
                Ok(PublicParts::Ec {
                    curve,
                    x: point[1..=len].to_vec(),
                    y: point[1 + len..].to_vec(),
                })
            }
            KeySpec::Oct(_) => Ok(PublicParts::Oct),
        }
    }

    fn digest_of(alg: SignAlg, digest: &[u8]) -> Result<aws_lc_rs::digest::Digest> {
        aws_lc_rs::digest::Digest::import_less_safe(digest, alg.digest())
            .map_err(|_| VaultCryptoError::BadInput)
    }

    fn ec_alg_for(&self, alg: SignAlg) -> Result<Curve> {
        match (self.spec, alg) {
            (KeySpec::Ec(c @ Curve::P256), SignAlg::Es256)
            | (KeySpec::Ec(c @ Curve::P384), SignAlg::Es384)
            | (KeySpec::Ec(c @ Curve::P521), SignAlg::Es512) => Ok(c),
            _ => Err(VaultCryptoError::WrongAlgorithm(alg.name().into())),
        }
    }

    fn rsa_padding(alg: SignAlg) -> Option<&'static dyn aws_lc_rs::signature::RsaEncoding> {
        use aws_lc_rs::signature as s;
        Some(match alg {
            SignAlg::Rs256 => &s::RSA_PKCS1_SHA256,
            SignAlg::Rs384 => &s::RSA_PKCS1_SHA384,
            SignAlg::Rs512 => &s::RSA_PKCS1_SHA512,
            SignAlg::Ps256 => &s::RSA_PSS_SHA256,
            SignAlg::Ps384 => &s::RSA_PSS_SHA384,
            SignAlg::Ps512 => &s::RSA_PSS_SHA512,
            _ => return None,
        })
    }

    /// Signs a digest (Key Vault's `sign`): RS*/PS* with RSA keys, ES* with
    /// the EC key of the matching curve (fixed-size r||s, as JWS).
    pub fn sign(&self, alg: SignAlg, digest: &[u8]) -> Result<Vec<u8>> {
        let d = Self::digest_of(alg, digest)?;
        match self.spec {
            KeySpec::Rsa(_) => {
                let padding = Self::rsa_padding(alg)
                    .ok_or_else(|| VaultCryptoError::WrongAlgorithm(alg.name().into()))?;
                let kp = self.rsa_pair()?;
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign_digest(padding, &d, &mut sig)
                    .map_err(|_| VaultCryptoError::Library)?;
                Ok(sig)
            }
            KeySpec::Ec(_) => {
                let curve = self.ec_alg_for(alg)?;
                let kp = self.ec_pair(curve)?;
                Ok(kp
                    .sign_digest(&d)
                    .map_err(|_| VaultCryptoError::Library)?
                    .as_ref()
                    .to_vec())
            }
            KeySpec::Oct(_) => Err(VaultCryptoError::WrongAlgorithm(alg.name().into())),
        }
    }

    /// Verifies a signature over a digest; `Ok(false)` for a wrong signature.
    pub fn verify(&self, alg: SignAlg, digest: &[u8], signature: &[u8]) -> Result<bool> {
        use aws_lc_rs::signature as s;
        let d = Self::digest_of(alg, digest)?;
        let (verify_alg, public): (&'static dyn s::VerificationAlgorithm, Vec<u8>) = match self.spec
        {
            KeySpec::Rsa(_) => {
                let kp = self.rsa_pair()?;
                let v: &'static dyn s::VerificationAlgorithm = match alg {
                    SignAlg::Rs256 => &s::RSA_PKCS1_2048_8192_SHA256,
                    SignAlg::Rs384 => &s::RSA_PKCS1_2048_8192_SHA384,
                    SignAlg::Rs512 => &s::RSA_PKCS1_2048_8192_SHA512,
                    SignAlg::Ps256 => &s::RSA_PSS_2048_8192_SHA256,
                    SignAlg::Ps384 => &s::RSA_PSS_2048_8192_SHA384,
                    SignAlg::Ps512 => &s::RSA_PSS_2048_8192_SHA512,
                    _ => return Err(VaultCryptoError::WrongAlgorithm(alg.name().into())),
                };
                (v, kp.public_key().as_ref().to_vec())
            }
            KeySpec::Ec(_) => {
                let curve = self.ec_alg_for(alg)?;
                let kp = self.ec_pair(curve)?;
                let v: &'static dyn s::VerificationAlgorithm = match curve {
                    Curve::P256 => &s::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &s::ECDSA_P384_SHA384_FIXED,
                    Curve::P521 => &s::ECDSA_P521_SHA512_FIXED,
                };
                (v, kp.public_key().as_ref().to_vec())
            }
            KeySpec::Oct(_) => return Err(VaultCryptoError::WrongAlgorithm(alg.name().into())),
        };
        Ok(s::UnparsedPublicKey::new(verify_alg, public)
            .verify_digest(&d, signature)
            .is_ok())
    }

    fn check_alg(&self, alg: WrapAlg) -> Result<()> {
        let ok = matches!(
            (self.spec, alg),
            (KeySpec::Rsa(_), WrapAlg::RsaOaep | WrapAlg::RsaOaep256)
                | (KeySpec::Oct(256), WrapAlg::A256Kw)
        );
        if ok {
            Ok(())
        } else {
            Err(VaultCryptoError::WrongAlgorithm(
                match alg {
                    WrapAlg::RsaOaep => "RSA-OAEP",
                    WrapAlg::RsaOaep256 => "RSA-OAEP-256",
                    WrapAlg::A256Kw => "A256KW",
                }
                .into(),
            ))
        }
    }

    /// Wraps (or encrypts) `data`: RSA-OAEP(-256) with the public key, or
    /// AES key wrap (RFC 3394) with an oct key.
    pub fn wrap(&self, alg: WrapAlg, data: &[u8]) -> Result<Vec<u8>> {
        self.check_alg(alg)?;
        match alg.oaep() {
            Some(oaep) => {
                let enc = self.rsa_enc()?;
                if data.len() > enc.max_plaintext_size(oaep) {
                    return Err(VaultCryptoError::BadInput);
                }
                let mut out = vec![0u8; enc.ciphertext_size()];
                let n = enc
                    .encrypt(oaep, data, &mut out, None)
                    .map_err(|_| VaultCryptoError::BadInput)?
                    .len();
                out.truncate(n);
                Ok(out)
            }
            None => {
                if data.len() < 16 || !data.len().is_multiple_of(8) {
                    return Err(VaultCryptoError::BadInput);
                }
                let kek =
                    AesKek::new(&AES_256, &self.der).map_err(|_| VaultCryptoError::Malformed)?;
                let mut out = vec![0u8; data.len() + 8];
                let n = kek
                    .wrap(data, &mut out)
                    .map_err(|_| VaultCryptoError::BadInput)?
                    .len();
                out.truncate(n);
                Ok(out)
            }
        }
    }

    /// Unwraps (or decrypts) `data`; any failure is the one
    /// [`VaultCryptoError::Unauthentic`], so that callers learn nothing more.
    pub fn unwrap(&self, alg: WrapAlg, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.check_alg(alg)?;
        match alg.oaep() {
            Some(oaep) => {
                let dec = self.rsa_dec()?;
                let mut out = Zeroizing::new(vec![0u8; dec.min_output_size()]);
                let n = dec
                    .decrypt(oaep, data, &mut out, None)
                    .map_err(|_| VaultCryptoError::Unauthentic)?
                    .len();
                out.truncate(n);
                Ok(out)
            }
            None => {
                if data.len() < 24 || !data.len().is_multiple_of(8) {
                    return Err(VaultCryptoError::Unauthentic);
                }
                let kek =
                    AesKek::new(&AES_256, &self.der).map_err(|_| VaultCryptoError::Malformed)?;
                let mut out = Zeroizing::new(vec![0u8; data.len()]);
                let n = kek
                    .unwrap(data, &mut out)
                    .map_err(|_| VaultCryptoError::Unauthentic)?
                    .len();
                out.truncate(n);
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_wrap_round_trip_and_tamper() {
        let k = KeyMaterial::generate(KeySpec::Rsa(2048)).expect("an RSA key");
        let k = KeyMaterial::from_bytes(&k.to_bytes()).expect("the key bytes read back");
        let PublicParts::Rsa { n, e } = k.public().expect("public parts") else {
            panic!("not RSA")
        };
        assert_eq!((n.len(), e.as_slice()), (256, &[1u8, 0, 1][..]));
        for alg in [WrapAlg::RsaOaep, WrapAlg::RsaOaep256] {
            let mut ct = k.wrap(alg, &[5u8; 32]).expect("wrapping succeeds");
            assert_eq!(
                k.unwrap(alg, &ct)
                    .expect("the wrapped key unwraps")
                    .as_slice(),
                &[5u8; 32]
            );
            ct[10] ^= 1;
            assert_eq!(
                k.unwrap(alg, &ct).err(),
                Some(VaultCryptoError::Unauthentic)
            );
        }
        assert!(matches!(
            k.wrap(WrapAlg::A256Kw, &[0u8; 32]),
            Err(VaultCryptoError::WrongAlgorithm(_))
        ));
        // Another key of the same type cannot unwrap.
        let other = KeyMaterial::generate(KeySpec::Rsa(2048)).expect("an RSA key");
        let ct = k
            .wrap(WrapAlg::RsaOaep256, b"k")
            .expect("wrapping succeeds");
        assert_eq!(
            other.unwrap(WrapAlg::RsaOaep256, &ct).err(),
            Some(VaultCryptoError::Unauthentic)
        );
    }

    #[test]
    fn aes_key_wrap_rfc3394_vector() {
        // RFC 3394 §4.6: 256-bit KEK, 256-bit key data.
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
            .unwrap_or_default();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
            .unwrap_or_default();
        let want = hex::decode(
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
        )
        .unwrap_or_default();
        let mut bytes = vec![TAG_OCT, 1, 0];
        bytes.extend_from_slice(&kek);
        let k = KeyMaterial::from_bytes(&bytes).expect("an AES key from bytes");
        assert_eq!(k.wrap(WrapAlg::A256Kw, &data).unwrap_or_default(), want);
        assert_eq!(
            k.unwrap(WrapAlg::A256Kw, &want)
                .expect("the wrapped key unwraps")
                .as_slice(),
            data.as_slice()
        );
        let mut bad = want.clone();
        bad[3] ^= 0x80;
        assert_eq!(
            k.unwrap(WrapAlg::A256Kw, &bad).err(),
            Some(VaultCryptoError::Unauthentic)
        );
    }

    #[test]
    fn ec_public_parts() {
        for (curve, len) in [(Curve::P256, 32), (Curve::P384, 48), (Curve::P521, 66)] {
            let k = KeyMaterial::generate(KeySpec::Ec(curve)).expect("an EC key");
            let k = KeyMaterial::from_bytes(&k.to_bytes()).expect("the key bytes read back");
            match k.public().expect("public parts") {
                PublicParts::Ec { x, y, .. } => assert_eq!((x.len(), y.len()), (len, len)),
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                k.wrap(WrapAlg::RsaOaep, b"x"),
                Err(VaultCryptoError::WrongAlgorithm(_))
            ));
        }
        assert_eq!(
            KeyMaterial::generate(KeySpec::Rsa(1024)).err(),
            Some(VaultCryptoError::BadKeySpec)
        );
    }

    #[test]
    fn sign_and_verify_digests() {
        use aws_lc_rs::digest::{digest, SHA256, SHA384, SHA512};
        let rsa = KeyMaterial::generate(KeySpec::Rsa(2048)).expect("an RSA key");
        for (alg, d) in [
            (SignAlg::Rs256, digest(&SHA256, b"m")),
            (SignAlg::Ps384, digest(&SHA384, b"m")),
            (SignAlg::Rs512, digest(&SHA512, b"m")),
        ] {
            let sig = rsa.sign(alg, d.as_ref()).expect("signing succeeds");
            assert_eq!(rsa.verify(alg, d.as_ref(), &sig), Ok(true));
            let mut bad = sig.clone();
            bad[5] ^= 1;
            assert_eq!(rsa.verify(alg, d.as_ref(), &bad), Ok(false));
        }
        let ec = KeyMaterial::generate(KeySpec::Ec(Curve::P384)).expect("an EC key");
        let d = digest(&SHA384, b"m");
        let sig = ec
            .sign(SignAlg::Es384, d.as_ref())
            .expect("signing succeeds");
        assert_eq!(sig.len(), 96);
        assert_eq!(ec.verify(SignAlg::Es384, d.as_ref(), &sig), Ok(true));
        assert!(matches!(
            ec.sign(SignAlg::Es256, &[0u8; 32]),
            Err(VaultCryptoError::WrongAlgorithm(_))
        ));
        assert!(matches!(
            rsa.sign(SignAlg::Es256, &[0u8; 32]),
            Err(VaultCryptoError::WrongAlgorithm(_))
        ));
        assert_eq!(
            rsa.sign(SignAlg::Rs256, &[0u8; 31]),
            Err(VaultCryptoError::BadInput)
        );
    }

    #[test]
    fn debug_redacts() {
        let k = KeyMaterial::generate(KeySpec::Oct(256)).expect("an AES key");
        assert_eq!(format!("{k:?}"), "KeyMaterial { spec: Oct(256), .. }");
    }
}
