//! The vault operations on keys and secrets, run on a blocking thread once
//! the request is authorized. Keys and secrets share one handler per
//! lifecycle operation (get, list, versions, update, delete, backup,
//! restore, the deleted objects, recover, purge), generic over the
//! [`Collection`]; they differ only in how one object is shown
//! ([`Ctx::bundle`]) and in the document fields they keep
//! ([`parse::document_fields`]).

use axum::response::Response;
use base64::Engine as _;
use http::StatusCode;
use keyrotor_core::vault::{Collection, ObjectAttributes, Vault};
use keyrotor_core::Actor;
use keyrotor_crypto::vault::{SignAlg, WrapAlg};
use keyrotor_types::Secret;
use serde_json::{json, Map, Value};

use super::op::{CryptoOp, Op};
use super::render::doc;
use super::{bad, ok, parse, VaultError, B64};
use crate::DataPlane;

/// One authorized request's context: the vault, its URL and the caller.
pub(crate) struct Ctx<'a> {
    pub(crate) dp: &'a DataPlane,
    pub(crate) vault: Vault,
    /// `https://{vault}.{suffix}[:port]/`
    pub(crate) base: String,
    pub(crate) actor: Actor,
}

impl Ctx<'_> {
    /// Runs an authorized operation.
    pub(crate) fn run(&self, op: Op, body: &Map<String, Value>) -> Result<Response, VaultError> {
        let core = self.dp.core();
        let (v, a) = (&self.vault, &self.actor);
        Ok(match op {
            Op::CreateKey(name) => {
                let (spec, kty) = parse::key_spec(body)?;
                let attrs = parse::attributes(body, ObjectAttributes::default())?;
                let mut d = Map::new();
                d.insert("kty".into(), json!(kty));
                let document = parse::merge_doc(d, body, Collection::Keys);
                let o = core.create_key(a, v, &name, spec, attrs, document)?;
                ok(&self.bundle(&o)?)
            }
            Op::SetSecret(name) => {
                let Some(value) = body.get("value").and_then(Value::as_str) else {
                    return Err(bad("'value' is required and must be a string"));
                };
                let attrs = parse::attributes(body, ObjectAttributes::default())?;
                let document = parse::merge_doc(Map::new(), body, Collection::Secrets);
                let secret = Secret::new(value.to_string());
                let o = core.set_secret(a, v, &name, &secret, attrs, document)?;
                let mut r = self.bundle(&o)?;
                r["value"] = json!(secret.expose());
                ok(&r)
            }
            Op::Get(c, name, version) => {
                let o = core.object(v, c, &name, version.as_deref())?;
                let mut r = self.bundle(&o)?;
                if c == Collection::Secrets {
                    // A secret read is an activity entry, recorded first.
                    r["value"] = json!(core.read_secret_value(a, v, &o)?.expose());
                }
                ok(&r)
            }
            Op::List(c) => self.page(&core.objects(v, c)?, false),
            Op::Versions(c, name) => self.page(&core.live_versions(v, c, &name)?, true),
            Op::Update(c, name, version) => {
                let o = core.object(v, c, &name, version.as_deref())?;
                let attrs = parse::attributes(body, o.attributes)?;
                let document = parse::merge_doc(doc(&o), body, c);
                let o = core.update_object(a, v, &o, attrs, document)?;
                ok(&self.bundle(&o)?)
            }
            Op::Delete(c, name) => ok(&self.bundle(&core.delete_object(a, v, c, &name)?)?),
            Op::Backup(c, name) => {
                let blob = core.backup_object(v, c, &name)?;
                ok(&json!({"value": B64.encode(blob)}))
            }
            Op::Restore(c) => {
                let Some(blob) = parse::b64_field(body, "value") else {
                    return Err(bad("'value' must be a base64url backup blob"));
                };
                ok(&self.bundle(&core.restore_object(a, v, c, &blob)?)?)
            }
            Op::ListDeleted(c) => self.page(&core.deleted_objects(v, c)?, false),
            Op::GetDeleted(c, name) => ok(&self.bundle(&core.deleted_object(v, c, &name)?)?),
            Op::Recover(c, name) => ok(&self.bundle(&core.recover_object(a, v, c, &name)?)?),
            Op::Purge(c, name) => {
                core.purge_object(a, v, c, &name)?;
                crate::json_response(StatusCode::NO_CONTENT, String::new())
            }
            Op::RotateKey(name) => ok(&self.bundle(&core.rotate_key(a, v, &name)?)?),
            Op::Crypto { name, version, op } => self.crypto(&name, &version, op, body)?,
            Op::GetRotationPolicy(name) => {
                let key = core.object(v, Collection::Keys, &name, None)?;
                let p = core.rotation_policy(v, &name)?;
                ok(&self.policy_json(&key, p.as_ref()))
            }
            Op::SetRotationPolicy(name) => {
                let (actions, expiry) = parse::policy(body)?;
                let key = core.object(v, Collection::Keys, &name, None)?;
                let p = core.set_rotation_policy(a, v, &name, actions, expiry)?;
                ok(&self.policy_json(&key, Some(&p)))
            }
        })
    }

    /// Sign, verify, wrap, unwrap, encrypt or decrypt with one key version.
    fn crypto(
        &self,
        name: &str,
        version: &str,
        op: CryptoOp,
        body: &Map<String, Value>,
    ) -> Result<Response, VaultError> {
        let core = self.dp.core();
        let v = &self.vault;
        let o = core.object(v, Collection::Keys, name, Some(version))?;
        let Some(alg) = body.get("alg").and_then(Value::as_str) else {
            return Err(bad("'alg' is required"));
        };
        let field = |k: &str| parse::b64_field(body, k);
        let sign_alg = || {
            SignAlg::parse(alg).ok_or_else(|| {
                bad(format!(
                    "the signature algorithm '{}' is not supported (RS256-512, PS256-512, ES256-512)",
                    alg.chars().take(30).collect::<String>()
                ))
            })
        };
        let wrap_alg = || {
            WrapAlg::parse(alg).ok_or_else(|| {
                bad(format!(
                    "the algorithm '{}' is not supported (RSA-OAEP, RSA-OAEP-256, A256KW)",
                    alg.chars().take(30).collect::<String>()
                ))
            })
        };
        let input = || field("value").ok_or_else(|| bad("'value' must be base64url"));
        let kid = || self.id("keys", &o, true);
        Ok(match op {
            CryptoOp::Sign => {
                let alg = sign_alg()?;
                let Some(digest) = field("value") else {
                    return Err(bad("'value' must be the base64url digest"));
                };
                let sig = core.key_sign(v, &o, alg, &digest)?;
                ok(&json!({"kid": kid(), "value": B64.encode(sig)}))
            }
            CryptoOp::Verify => {
                let alg = sign_alg()?;
                let (Some(digest), Some(sig)) = (field("digest"), field("value")) else {
                    return Err(bad(
                        "'digest' and 'value' (the signature) must be base64url",
                    ));
                };
                let valid = core.key_verify(v, &o, alg, &digest, &sig)?;
                ok(&json!({"value": valid}))
            }
            CryptoOp::Wrap | CryptoOp::Encrypt => {
                let (alg, input) = (wrap_alg()?, input()?);
                let out = core.key_wrap(v, &o, alg, &input)?;
                ok(&json!({"kid": kid(), "value": B64.encode(out)}))
            }
            CryptoOp::Unwrap | CryptoOp::Decrypt => {
                let (alg, input) = (wrap_alg()?, input()?);
                let out = core.key_unwrap(v, &o, alg, &input)?;
                ok(&json!({"kid": kid(), "value": B64.encode(&*out)}))
            }
        })
    }
}
