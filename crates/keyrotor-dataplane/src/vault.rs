//! Key Vault data plane at `https://{vault}.vault.{suffix}[:port]/`: the
//! challenge-based bearer flow the SDKs expect (401 with `WWW-Authenticate:
//! Bearer authorization=…, resource=…`), data roles per operation, keys
//! (create, get, list, versions, update, rotate, wrap/unwrap, encrypt/
//! decrypt, soft delete, recover, purge) and secrets (set, get, list,
//! versions, update, soft delete, recover, purge). Errors use the vault's
//! body `{"error":{"code","message"}}`.

#![allow(
    clippy::result_large_err,
    reason = "the Err side is the finished HTTP response, built once per refused request"
)]

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use http::{HeaderValue, Method, Request, StatusCode};
use keyrotor_core::vault::{
    ActionType, Collection, IsoDuration, LifetimeAction, ObjectAttributes, RotationPolicy, Trigger,
    Vault, VaultObject,
};
use keyrotor_core::{Actor, Error as CoreError};
use keyrotor_crypto::vault::{Curve, KeySpec, PublicParts, SignAlg, WrapAlg};
use keyrotor_types::Secret;
use serde_json::{json, Map, Value};

use crate::{DataPlane, TokenError};

const MAX_BODY: usize = 256 * 1024;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where vaults live: the host suffix (`vault.localhost`), the challenge
/// resource (`https://vault.localhost:8443`) and the token authority.
pub struct VaultConfig {
    pub suffix: String,
    pub resource: String,
    pub authority: String,
}

/// The vault named by a request's host, if it is a vault host.
pub fn vault_host<'a>(host: &'a str, suffix: &str) -> Option<&'a str> {
    // Byte scan for the port separator: every data-plane request passes here.
    let host = match host.bytes().rposition(|b| b == b':') {
        Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    };
    let name = host.strip_suffix(suffix)?.strip_suffix('.')?;
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    crate::code_message_error(status, code, message)
}

fn ok(v: &Value) -> Response {
    crate::json_response(StatusCode::OK, v.to_string())
}

/// The one table from domain errors to the vault's statuses and codes.
fn core_error(e: &CoreError) -> Response {
    let (status, code) = match e {
        CoreError::ObjectNotFound(Collection::Keys, _) => (StatusCode::NOT_FOUND, "KeyNotFound"),
        CoreError::ObjectNotFound(Collection::Secrets, _) => {
            (StatusCode::NOT_FOUND, "SecretNotFound")
        }
        CoreError::ObjectConflict(..) | CoreError::ObjectChanged(..) => {
            (StatusCode::CONFLICT, "Conflict")
        }
        CoreError::ObjectDisabled(_) | CoreError::ObjectNotValidNow(_) => {
            (StatusCode::FORBIDDEN, "Forbidden")
        }
        CoreError::PurgeProtected(_) => (StatusCode::FORBIDDEN, "Forbidden"),
        // Damaged stored material and library failures are the server's.
        CoreError::VaultCrypto(
            keyrotor_crypto::vault::VaultCryptoError::Malformed
            | keyrotor_crypto::vault::VaultCryptoError::Library,
        ) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        CoreError::VaultCrypto(_) => (StatusCode::BAD_REQUEST, "BadParameter"),
        CoreError::InvalidInput(_) | CoreError::InvalidName(_) => {
            (StatusCode::BAD_REQUEST, "BadParameter")
        }
        CoreError::VaultNotFound(_) => (StatusCode::NOT_FOUND, "VaultNotFound"),
        CoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        CoreError::KeyMaterialUnavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "KeyMaterialUnavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "vault request failed");
        let r = error(status, code, "The service encountered an internal error.");
        return match e {
            CoreError::Unavailable(_) => crate::retry_soon(r),
            _ => r,
        };
    }
    error(status, code, &e.to_string())
}

fn challenge(cfg: &VaultConfig, tenant: &str, code: &str, message: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, code, message);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer authorization=\"{}/{tenant}\", resource=\"{}\"",
        cfg.authority, cfg.resource
    )) {
        r.headers_mut().insert(http::header::WWW_AUTHENTICATE, v);
    }
    r
}

/// What a request does, with the data action it needs.
enum Op {
    KeyCreate(String),
    KeyGet(String, Option<String>),
    KeyList,
    KeyVersions(String),
    KeyUpdate(String, Option<String>),
    KeyRotate(String),
    KeyDelete(String),
    KeyCrypto(String, String, &'static str),
    KeyPolicyGet(String),
    KeyBackup(String),
    KeyRestore,
    SecretBackup(String),
    SecretRestore,
    KeyPolicySet(String),
    DeletedKeyList,
    DeletedKeyGet(String),
    DeletedKeyRecover(String),
    DeletedKeyPurge(String),
    SecretSet(String),
    SecretGet(String, Option<String>),
    SecretList,
    SecretVersions(String),
    SecretUpdate(String, Option<String>),
    SecretDelete(String),
    DeletedSecretList,
    DeletedSecretGet(String),
    DeletedSecretRecover(String),
    DeletedSecretPurge(String),
}

const KV: &str = "Microsoft.KeyVault/vaults";

impl Op {
    fn parse(m: &Method, path: &str) -> Result<Op, Response> {
        let trailing = path.ends_with('/') && path.len() > 1;
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let ver = |v: Option<&&str>| v.map(|s| s.to_string()).filter(|s| !s.is_empty());
        let op = match (m.clone(), segs.as_slice()) {
            (Method::POST, ["keys", n, "create"]) => Op::KeyCreate(n.to_string()),
            (Method::POST, ["keys", "restore"]) => Op::KeyRestore,
            (Method::POST, ["keys", n, "backup"]) => Op::KeyBackup(n.to_string()),
            (Method::POST, ["secrets", "restore"]) => Op::SecretRestore,
            (Method::POST, ["secrets", n, "backup"]) => Op::SecretBackup(n.to_string()),
            (Method::GET, ["keys", n, p]) if p.eq_ignore_ascii_case("rotationpolicy") => {
                Op::KeyPolicyGet(n.to_string())
            }
            (Method::PUT, ["keys", n, p]) if p.eq_ignore_ascii_case("rotationpolicy") => {
                Op::KeyPolicySet(n.to_string())
            }
            (Method::GET, ["keys"]) => Op::KeyList,
            (Method::GET, ["keys", n, "versions"]) => Op::KeyVersions(n.to_string()),
            (Method::GET, ["keys", n]) if trailing => Op::KeyGet(n.to_string(), None),
            (Method::GET, ["keys", n, v]) => Op::KeyGet(n.to_string(), ver(Some(v))),
            (Method::PATCH, ["keys", n]) => Op::KeyUpdate(n.to_string(), None),
            (Method::PATCH, ["keys", n, v]) => Op::KeyUpdate(n.to_string(), ver(Some(v))),
            (Method::POST, ["keys", n, "rotate"]) => Op::KeyRotate(n.to_string()),
            (Method::DELETE, ["keys", n]) => Op::KeyDelete(n.to_string()),
            (Method::POST, ["keys", n, v, what]) => {
                let w = match what.to_ascii_lowercase().as_str() {
                    "wrapkey" => "wrap",
                    "unwrapkey" => "unwrap",
                    "encrypt" => "encrypt",
                    "decrypt" => "decrypt",
                    "sign" => "sign",
                    "verify" => "verify",
                    _ => return Err(not_implemented(m, path)),
                };
                Op::KeyCrypto(n.to_string(), v.to_string(), w)
            }
            (Method::GET, ["deletedkeys"]) => Op::DeletedKeyList,
            (Method::GET, ["deletedkeys", n]) => Op::DeletedKeyGet(n.to_string()),
            (Method::POST, ["deletedkeys", n, "recover"]) => Op::DeletedKeyRecover(n.to_string()),
            (Method::DELETE, ["deletedkeys", n]) => Op::DeletedKeyPurge(n.to_string()),
            (Method::PUT, ["secrets", n]) => Op::SecretSet(n.to_string()),
            (Method::GET, ["secrets"]) => Op::SecretList,
            (Method::GET, ["secrets", n, "versions"]) => Op::SecretVersions(n.to_string()),
            (Method::GET, ["secrets", n]) if trailing => Op::SecretGet(n.to_string(), None),
            (Method::GET, ["secrets", n, v]) => Op::SecretGet(n.to_string(), ver(Some(v))),
            (Method::PATCH, ["secrets", n]) => Op::SecretUpdate(n.to_string(), None),
            (Method::PATCH, ["secrets", n, v]) => Op::SecretUpdate(n.to_string(), ver(Some(v))),
            (Method::DELETE, ["secrets", n]) => Op::SecretDelete(n.to_string()),
            (Method::GET, ["deletedsecrets"]) => Op::DeletedSecretList,
            (Method::GET, ["deletedsecrets", n]) => Op::DeletedSecretGet(n.to_string()),
            (Method::POST, ["deletedsecrets", n, "recover"]) => {
                Op::DeletedSecretRecover(n.to_string())
            }
            (Method::DELETE, ["deletedsecrets", n]) => Op::DeletedSecretPurge(n.to_string()),
            _ => return Err(not_implemented(m, path)),
        };
        Ok(op)
    }

    fn action(&self) -> String {
        let a = match self {
            Op::KeyCreate(_) => "keys/create/action",
            Op::KeyGet(..) | Op::KeyList | Op::KeyVersions(_) => "keys/read",
            Op::KeyUpdate(..) => "keys/update/action",
            Op::KeyRotate(_) => "keys/rotate/action",
            Op::KeyDelete(_) => "keys/delete",
            Op::KeyCrypto(_, _, w) => match *w {
                "wrap" => "keys/wrap/action",
                "unwrap" => "keys/unwrap/action",
                "encrypt" => "keys/encrypt/action",
                "sign" => "keys/sign/action",
                "verify" => "keys/verify/action",
                _ => "keys/decrypt/action",
            },
            Op::KeyPolicyGet(_) => "keyrotationpolicies/read",
            Op::KeyBackup(_) => "keys/backup/action",
            Op::KeyRestore => "keys/restore/action",
            Op::SecretBackup(_) => "secrets/backup/action",
            Op::SecretRestore => "secrets/restore/action",
            Op::KeyPolicySet(_) => "keyrotationpolicies/write",
            Op::DeletedKeyList | Op::DeletedKeyGet(_) => "deletedKeys/read",
            Op::DeletedKeyRecover(_) => "deletedKeys/recover/action",
            Op::DeletedKeyPurge(_) => "deletedKeys/delete",
            Op::SecretSet(_) => "secrets/setSecret/action",
            Op::SecretGet(..) => "secrets/getSecret/action",
            Op::SecretList | Op::SecretVersions(_) => "secrets/readMetadata/action",
            Op::SecretUpdate(..) => "secrets/update/action",
            Op::SecretDelete(_) => "secrets/delete",
            Op::DeletedSecretList | Op::DeletedSecretGet(_) => "deletedSecrets/read",
            Op::DeletedSecretRecover(_) => "deletedSecrets/recover/action",
            Op::DeletedSecretPurge(_) => "deletedSecrets/delete",
        };
        format!("{KV}/{a}")
    }
}

fn not_implemented(m: &Method, path: &str) -> Response {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        &format!(
            "The operation '{m} {}' is not implemented by keyrotor. See COMPATIBILITY.md.",
            path.chars().take(200).collect::<String>()
        ),
    )
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadParameter", message)
}

/// For the fuzz targets: [`attributes`] without its HTTP answer.
pub(crate) fn read_attributes(
    body: &Map<String, Value>,
    base: ObjectAttributes,
) -> Result<ObjectAttributes, ()> {
    attributes(body, base).map_err(|_| ())
}

fn attributes(
    body: &Map<String, Value>,
    base: ObjectAttributes,
) -> Result<ObjectAttributes, Response> {
    let Some(a) = body.get("attributes") else {
        return Ok(base);
    };
    let Some(a) = a.as_object() else {
        return Err(bad("'attributes' must be an object"));
    };
    let int = |k: &str, cur: Option<i64>| -> Result<Option<i64>, Response> {
        match a.get(k) {
            None => Ok(cur),
            Some(Value::Null) => Ok(None),
            // Years 1 to 9999: what every client's date type can hold, and
            // far from the ends of the calendar the core computes in.
            Some(v) => v
                .as_i64()
                .filter(|t| (-62_135_596_800..=253_402_300_799).contains(t))
                .map(Some)
                .ok_or_else(|| {
                    bad(&format!(
                        "'attributes.{k}' must be Unix seconds between the years 1 and 9999"
                    ))
                }),
        }
    };
    Ok(ObjectAttributes {
        enabled: match a.get("enabled") {
            None => base.enabled,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::Null) => None,
            Some(_) => return Err(bad("'attributes.enabled' must be a boolean")),
        },
        not_before: int("nbf", base.not_before)?,
        expires: int("exp", base.expires)?,
    })
}

/// A base64url field of a request body (padding tolerated).
fn b64_field(body: &Map<String, Value>, key: &str) -> Option<Vec<u8>> {
    body.get(key)
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s.trim_end_matches('=')).ok())
}

fn attributes_json(vault: &Vault, o: &VaultObject) -> Value {
    let days = vault.settings.soft_delete_days;
    let level = match (vault.settings.purge_protection, days == 90) {
        (true, true) => "Recoverable",
        (true, false) => "CustomizedRecoverable",
        (false, true) => "Recoverable+Purgeable",
        (false, false) => "CustomizedRecoverable+Purgeable",
    };
    let mut a = json!({
        "enabled": o.attributes.is_enabled(),
        "created": o.created_at.unix_timestamp(),
        "updated": o.updated_at.unix_timestamp(),
        "recoveryLevel": level,
        "recoverableDays": days,
    });
    if let Some(n) = o.attributes.not_before {
        a["nbf"] = json!(n);
    }
    if let Some(e) = o.attributes.expires {
        a["exp"] = json!(e);
    }
    a
}

fn doc(o: &VaultObject) -> Map<String, Value> {
    serde_json::from_str(&o.document).unwrap_or_default()
}

struct Ctx<'a> {
    dp: &'a DataPlane,
    vault: Vault,
    base: String,
    actor: Actor,
}

impl Ctx<'_> {
    fn id(&self, c: &str, o: &VaultObject, with_version: bool) -> String {
        if with_version {
            format!("{}{c}/{}/{}", self.base, o.name, o.version)
        } else {
            format!("{}{c}/{}", self.base, o.name)
        }
    }

    fn deleted_fields(&self, v: &mut Value, c: &str, o: &VaultObject) {
        v["recoveryId"] = json!(format!("{}deleted{c}/{}", self.base, o.name));
        if let Some(d) = o.deleted_at {
            v["deletedDate"] = json!(d.unix_timestamp());
            v["scheduledPurgeDate"] = json!((d + time::Duration::days(i64::from(
                self.vault.settings.soft_delete_days
            )))
            .unix_timestamp());
        }
    }

    fn key_bundle(&self, o: &VaultObject) -> Result<Value, CoreError> {
        let (spec, public) = self.dp.core().key_public(&self.vault, o)?;
        let d = doc(o);
        let kty = d.get("kty").and_then(Value::as_str).map_or_else(
            || {
                match spec {
                    KeySpec::Rsa(_) => "RSA",
                    KeySpec::Ec(_) => "EC",
                    KeySpec::Oct(_) => "oct",
                }
                .to_string()
            },
            str::to_string,
        );
        let ops = d.get("key_ops").cloned().unwrap_or_else(|| match spec {
            KeySpec::Rsa(_) => json!([
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey"
            ]),
            KeySpec::Ec(_) => json!(["sign", "verify"]),
            KeySpec::Oct(_) => json!(["encrypt", "decrypt", "wrapKey", "unwrapKey"]),
        });
        let mut key = json!({"kid": self.id("keys", o, true), "kty": kty, "key_ops": ops});
        match public {
            PublicParts::Rsa { n, e } => {
                key["n"] = json!(B64.encode(n));
                key["e"] = json!(B64.encode(e));
            }
            PublicParts::Ec { curve, x, y } => {
                key["crv"] = json!(curve.name());
                key["x"] = json!(B64.encode(x));
                key["y"] = json!(B64.encode(y));
            }
            PublicParts::Oct => {}
        }
        let mut v = json!({
            "key": key,
            "attributes": attributes_json(&self.vault, o),
            "tags": d.get("tags").cloned().unwrap_or(json!({})),
        });
        if o.deleted_at.is_some() {
            self.deleted_fields(&mut v, "keys", o);
        }
        Ok(v)
    }

    /// A list item (KeyItem / SecretItem): the id (`kid` for keys),
    /// attributes, tags, a secret's content type, and the deleted fields.
    fn item(&self, o: &VaultObject, with_version: bool) -> Value {
        let c = o.collection.as_str();
        let d = doc(o);
        let id_field = match o.collection {
            Collection::Keys => "kid",
            Collection::Secrets => "id",
        };
        let mut v = json!({
            id_field: self.id(c, o, with_version),
            "attributes": attributes_json(&self.vault, o),
            "tags": d.get("tags").cloned().unwrap_or(json!({})),
        });
        if let Some(ct) = d.get("contentType") {
            v["contentType"] = ct.clone();
        }
        if o.deleted_at.is_some() {
            self.deleted_fields(&mut v, c, o);
        }
        v
    }

    /// A rotation policy as Key Vault shows it; keys without one show
    /// Azure's default (notify 30 days before expiry).
    fn policy_json(&self, key: &VaultObject, p: Option<&RotationPolicy>) -> Value {
        let id = format!("{}keys/{}/rotationpolicy", self.base, key.name);
        let Some(p) = p else {
            return json!({
                "id": id,
                "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
                "attributes": {},
            });
        };
        let actions: Vec<Value> = p
            .actions
            .iter()
            .map(|a| {
                let trigger = match a.trigger {
                    Trigger::AfterCreate(d) => json!({"timeAfterCreate": d.to_string()}),
                    Trigger::BeforeExpiry(d) => json!({"timeBeforeExpiry": d.to_string()}),
                };
                let ty = match a.action {
                    ActionType::Rotate => "Rotate",
                    ActionType::Notify => "Notify",
                };
                json!({"trigger": trigger, "action": {"type": ty}})
            })
            .collect();
        json!({
            "id": id,
            "lifetimeActions": actions,
            "attributes": {
                "expiryTime": p.expiry.map(|d| d.to_string()),
                "created": p.created_at.unix_timestamp(),
                "updated": p.updated_at.unix_timestamp(),
            },
        })
    }

    fn page(items: Vec<Value>) -> Response {
        ok(&json!({"value": items, "nextLink": null}))
    }
}

/// Object document fields kept from a create/set/update body.
fn merge_doc(mut d: Map<String, Value>, body: &Map<String, Value>, fields: &[&str]) -> String {
    for f in fields {
        if let Some(v) = body.get(*f) {
            d.insert((*f).to_string(), v.clone());
        }
    }
    Value::Object(d).to_string()
}

/// A `KeyRotationPolicy` body.
fn parse_policy(
    body: &Map<String, Value>,
) -> Result<(Vec<LifetimeAction>, Option<IsoDuration>), Response> {
    let dur = |v: &Value, what: &str| -> Result<IsoDuration, Response> {
        v.as_str().and_then(IsoDuration::parse).ok_or_else(|| {
            bad(&format!(
                "'{what}' must be an ISO 8601 duration such as P30D"
            ))
        })
    };
    let mut actions = Vec::new();
    match body.get("lifetimeActions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for a in list {
                let trigger = match a.get("trigger") {
                    Some(t) => match (t.get("timeAfterCreate"), t.get("timeBeforeExpiry")) {
                        (Some(d), None) if !d.is_null() => Trigger::AfterCreate(dur(d, "timeAfterCreate")?),
                        (None | Some(Value::Null), Some(d)) if !d.is_null() => {
                            Trigger::BeforeExpiry(dur(d, "timeBeforeExpiry")?)
                        }
                        (Some(d), Some(Value::Null)) if !d.is_null() => {
                            Trigger::AfterCreate(dur(d, "timeAfterCreate")?)
                        }
                        _ => {
                            return Err(bad(
                                "each trigger needs exactly one of timeAfterCreate and timeBeforeExpiry",
                            ))
                        }
                    },
                    None => return Err(bad("each lifetime action needs a trigger")),
                };
                let action = match a
                    .get("action")
                    .and_then(|x| x.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("rotate") => ActionType::Rotate,
                    Some("notify") => ActionType::Notify,
                    _ => return Err(bad("action.type must be Rotate or Notify")),
                };
                actions.push(LifetimeAction { trigger, action });
            }
        }
        Some(_) => return Err(bad("'lifetimeActions' must be an array")),
    }
    let expiry = match body.get("attributes").and_then(|a| a.get("expiryTime")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(dur(v, "attributes.expiryTime")?),
    };
    Ok((actions, expiry))
}

fn key_spec(body: &Map<String, Value>) -> Result<(KeySpec, String), Response> {
    let kty = body
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("'kty' is required"))?;
    let size = body.get("key_size").and_then(Value::as_u64);
    let spec = match kty {
        "RSA" | "RSA-HSM" => {
            let bits = u32::try_from(size.unwrap_or(2048)).unwrap_or(0);
            if ![2048, 3072, 4096].contains(&bits) {
                return Err(bad("RSA key_size must be 2048, 3072 or 4096"));
            }
            KeySpec::Rsa(bits)
        }
        "EC" | "EC-HSM" => {
            let crv = body.get("crv").and_then(Value::as_str).unwrap_or("P-256");
            KeySpec::Ec(Curve::parse(crv).ok_or_else(|| bad("crv must be P-256, P-384 or P-521"))?)
        }
        "oct" | "oct-HSM" => {
            if size.unwrap_or(256) != 256 {
                return Err(bad("oct key_size must be 256"));
            }
            KeySpec::Oct(256)
        }
        other => {
            return Err(bad(&format!(
                "kty '{}' is not supported (RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM)",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    Ok((spec, kty.to_string()))
}

impl DataPlane {
    /// Serves one vault request (`vault` is the host's first label).
    pub async fn handle_vault(self: &Arc<Self>, vault_name: &str, req: Request<Body>) -> Response {
        let (Some(cfg), Some(tokens)) = (self.vault_cfg.as_ref(), self.tokens.as_ref()) else {
            return error(
                StatusCode::NOT_FOUND,
                "VaultNotFound",
                "Vaults are not configured.",
            );
        };
        let tenant = tokens.tenant.clone();
        // 1. The challenge: no token, no answer about anything else.
        let Some(token) = crate::bearer(req.headers()) else {
            return challenge(
                cfg,
                &tenant,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
            );
        };
        let principal = match self.principal(&token, |aud| {
            let aud = aud.trim_end_matches('/');
            aud.eq_ignore_ascii_case(&cfg.resource) || aud == "https://vault.azure.net"
        }) {
            Ok(p) => p,
            Err(TokenError::Invalid(e)) => {
                return challenge(
                    cfg,
                    &tenant,
                    "Unauthorized",
                    &format!("AKV10032: Invalid token: {e}."),
                )
            }
            Err(TokenError::NotConfigured | TokenError::OtherTenant | TokenError::Audience(_)) => {
                return challenge(
                    cfg,
                    &tenant,
                    "Unauthorized",
                    "AKV10022: Invalid audience or tenant.",
                )
            }
        };
        let path = req.uri().path().to_string();
        if !req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p.starts_with("api-version=") && p.len() > 12)
        }) {
            return bad("The api-version query parameter is required.");
        }
        let op = match Op::parse(req.method(), &path) {
            Ok(op) => op,
            Err(r) => return r,
        };
        let core = self.core().clone();
        let name = vault_name.to_string();
        let vault = match tokio::task::spawn_blocking(move || core.vault_by_name(&name)).await {
            Ok(Ok(Some(v))) => v,
            Ok(Ok(None)) => {
                return error(
                    StatusCode::NOT_FOUND,
                    "VaultNotFound",
                    "The vault does not exist.",
                )
            }
            Ok(Err(e)) => return core_error(&e),
            Err(_) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "Try again.",
                )
            }
        };
        // 2. The data role for this operation at the vault (or above).
        let scope = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            vault.subscription, vault.resource_group, vault.name
        );
        let action = op.action();
        let scope_key = keyrotor_core::rbac::normalize_scope(&scope).unwrap_or_default();
        if !self.allows_data(&scope_key, &principal, &action) {
            return error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "Caller is not authorized to perform action on resource. Caller: appid={principal}; Action: '{action}'; Resource: '{scope}'. Assign a Key Vault data role (role assignments take effect on the next request)."
                ),
            );
        }
        let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "BadParameter",
                    "The request body is too large.",
                )
            }
        };
        let body: Map<String, Value> = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(m)) => m,
                _ => return bad("The request body must be a JSON object."),
            }
        };
        let base = format!(
            "https://{}.{}{}/",
            vault.name.as_str().to_ascii_lowercase(),
            cfg.suffix,
            port_of(&cfg.resource)
        );
        let me = self.clone();
        let actor = Actor(principal);
        match tokio::task::spawn_blocking(move || {
            let ctx = Ctx {
                dp: &me,
                vault,
                base,
                actor,
            };
            ctx.run(op, &body)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The request failed.",
            ),
        }
    }
}

fn port_of(resource: &str) -> &str {
    let authority = resource.split_once("://").map_or(resource, |(_, r)| r);
    authority.rfind(':').map_or("", |i| &authority[i..])
}

impl Ctx<'_> {
    fn run(&self, op: Op, body: &Map<String, Value>) -> Response {
        match self.run_inner(op, body) {
            Ok(r) => r,
            Err(e) => core_error(&e),
        }
    }

    fn run_inner(&self, op: Op, body: &Map<String, Value>) -> Result<Response, CoreError> {
        let core = self.dp.core();
        let v = &self.vault;
        let a = &self.actor;
        Ok(match op {
            Op::KeyCreate(name) => {
                let (spec, kty) = match key_spec(body) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let attrs = match attributes(body, ObjectAttributes::default()) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let mut d = Map::new();
                d.insert("kty".into(), json!(kty));
                let document = merge_doc(d, body, &["key_ops", "tags"]);
                let o = core.create_key(a, v, &name, spec, attrs, document)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::KeyGet(name, ver) => {
                let o = core.object(v, Collection::Keys, &name, ver.as_deref())?;
                ok(&self.key_bundle(&o)?)
            }
            Op::KeyList => Ctx::page(
                core.objects(v, Collection::Keys)?
                    .iter()
                    .map(|o| self.item(o, false))
                    .collect(),
            ),
            Op::KeyVersions(name) => {
                let all = core.object_versions(v, Collection::Keys, &name)?;
                if all.is_empty() || all.iter().any(|o| o.deleted_at.is_some()) {
                    return Err(CoreError::ObjectNotFound(Collection::Keys, name));
                }
                Ctx::page(all.iter().map(|o| self.item(o, true)).collect())
            }
            Op::KeyUpdate(name, ver) => {
                let o = core.object(v, Collection::Keys, &name, ver.as_deref())?;
                let attrs = match attributes(body, o.attributes) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let document = merge_doc(doc(&o), body, &["key_ops", "tags"]);
                let o = core.update_object(a, v, &o, attrs, document)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::KeyRotate(name) => {
                let o = core.rotate_key(a, v, &name)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::KeyDelete(name) => {
                let o = core.delete_object(a, v, Collection::Keys, &name)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::KeyCrypto(name, ver, what) if what == "sign" || what == "verify" => {
                let o = core.object(v, Collection::Keys, &name, Some(&ver))?;
                let Some(alg) = body.get("alg").and_then(Value::as_str) else {
                    return Ok(bad("'alg' is required"));
                };
                let Some(alg_v) = SignAlg::parse(alg) else {
                    return Ok(bad(&format!(
                        "the signature algorithm '{}' is not supported (RS256-512, PS256-512, ES256-512)",
                        alg.chars().take(30).collect::<String>()
                    )));
                };
                let field = |k: &str| b64_field(body, k);
                if what == "sign" {
                    let Some(digest) = field("value") else {
                        return Ok(bad("'value' must be the base64url digest"));
                    };
                    let sig = core.key_sign(v, &o, alg_v, &digest)?;
                    ok(&json!({"kid": self.id("keys", &o, true), "value": B64.encode(sig)}))
                } else {
                    let (Some(digest), Some(sig)) = (field("digest"), field("value")) else {
                        return Ok(bad(
                            "'digest' and 'value' (the signature) must be base64url",
                        ));
                    };
                    let valid = core.key_verify(v, &o, alg_v, &digest, &sig)?;
                    ok(&json!({"value": valid}))
                }
            }
            Op::KeyCrypto(name, ver, what) => {
                let o = core.object(v, Collection::Keys, &name, Some(&ver))?;
                let Some(alg) = body.get("alg").and_then(Value::as_str) else {
                    return Ok(bad("'alg' is required"));
                };
                let Some(alg_v) = WrapAlg::parse(alg) else {
                    return Ok(bad(&format!(
                        "the algorithm '{}' is not supported (RSA-OAEP, RSA-OAEP-256, A256KW)",
                        alg.chars().take(30).collect::<String>()
                    )));
                };
                let Some(input) = b64_field(body, "value") else {
                    return Ok(bad("'value' must be base64url"));
                };
                let out: Vec<u8> = match what {
                    "wrap" | "encrypt" => core.key_wrap(v, &o, alg_v, &input)?,
                    _ => core.key_unwrap(v, &o, alg_v, &input)?.to_vec(),
                };
                ok(&json!({"kid": self.id("keys", &o, true), "value": B64.encode(out)}))
            }
            Op::KeyBackup(name) => {
                let blob = core.backup_object(v, Collection::Keys, &name)?;
                ok(&json!({"value": B64.encode(blob)}))
            }
            Op::SecretBackup(name) => {
                let blob = core.backup_object(v, Collection::Secrets, &name)?;
                ok(&json!({"value": B64.encode(blob)}))
            }
            Op::KeyRestore | Op::SecretRestore => {
                let c = if matches!(op, Op::KeyRestore) {
                    Collection::Keys
                } else {
                    Collection::Secrets
                };
                let Some(blob) = b64_field(body, "value") else {
                    return Ok(bad("'value' must be a base64url backup blob"));
                };
                let o = core.restore_object(a, v, c, &blob)?;
                match c {
                    Collection::Keys => ok(&self.key_bundle(&o)?),
                    Collection::Secrets => ok(&self.item(&o, true)),
                }
            }
            Op::KeyPolicyGet(name) => {
                let key = core.object(v, Collection::Keys, &name, None)?;
                let p = core.rotation_policy(v, &name)?;
                ok(&self.policy_json(&key, p.as_ref()))
            }
            Op::KeyPolicySet(name) => {
                let (actions, expiry) = match parse_policy(body) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let key = core.object(v, Collection::Keys, &name, None)?;
                let p = core.set_rotation_policy(a, v, &name, actions, expiry)?;
                ok(&self.policy_json(&key, Some(&p)))
            }
            Op::DeletedKeyList => Ctx::page(
                core.deleted_objects(v, Collection::Keys)?
                    .iter()
                    .map(|o| self.item(o, false))
                    .collect(),
            ),
            Op::DeletedKeyGet(name) => {
                let o = core.deleted_object(v, Collection::Keys, &name)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::DeletedKeyRecover(name) => {
                let o = core.recover_object(a, v, Collection::Keys, &name)?;
                ok(&self.key_bundle(&o)?)
            }
            Op::DeletedKeyPurge(name) => {
                core.purge_object(a, v, Collection::Keys, &name)?;
                crate::json_response(StatusCode::NO_CONTENT, String::new())
            }
            Op::SecretSet(name) => {
                let Some(value) = body.get("value").and_then(Value::as_str) else {
                    return Ok(bad("'value' is required and must be a string"));
                };
                let attrs = match attributes(body, ObjectAttributes::default()) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let document = merge_doc(Map::new(), body, &["contentType", "tags"]);
                let secret = Secret::new(value.to_string());
                let o = core.set_secret(a, v, &name, &secret, attrs, document)?;
                let mut r = self.item(&o, true);
                r["value"] = json!(secret.expose());
                ok(&r)
            }
            Op::SecretGet(name, ver) => {
                let o = core.object(v, Collection::Secrets, &name, ver.as_deref())?;
                let value = core.secret_value(v, &o)?;
                let mut r = self.item(&o, true);
                r["value"] = json!(value.expose());
                ok(&r)
            }
            Op::SecretList => Ctx::page(
                core.objects(v, Collection::Secrets)?
                    .iter()
                    .map(|o| self.item(o, false))
                    .collect(),
            ),
            Op::SecretVersions(name) => {
                let all = core.object_versions(v, Collection::Secrets, &name)?;
                if all.is_empty() || all.iter().any(|o| o.deleted_at.is_some()) {
                    return Err(CoreError::ObjectNotFound(Collection::Secrets, name));
                }
                Ctx::page(all.iter().map(|o| self.item(o, true)).collect())
            }
            Op::SecretUpdate(name, ver) => {
                let o = core.object(v, Collection::Secrets, &name, ver.as_deref())?;
                let attrs = match attributes(body, o.attributes) {
                    Ok(x) => x,
                    Err(r) => return Ok(r),
                };
                let document = merge_doc(doc(&o), body, &["contentType", "tags"]);
                let o = core.update_object(a, v, &o, attrs, document)?;
                ok(&self.item(&o, true))
            }
            Op::SecretDelete(name) => {
                let o = core.delete_object(a, v, Collection::Secrets, &name)?;
                ok(&self.item(&o, true))
            }
            Op::DeletedSecretList => Ctx::page(
                core.deleted_objects(v, Collection::Secrets)?
                    .iter()
                    .map(|o| self.item(o, false))
                    .collect(),
            ),
            Op::DeletedSecretGet(name) => {
                let o = core.deleted_object(v, Collection::Secrets, &name)?;
                ok(&self.item(&o, true))
            }
            Op::DeletedSecretRecover(name) => {
                let o = core.recover_object(a, v, Collection::Secrets, &name)?;
                ok(&self.item(&o, true))
            }
            Op::DeletedSecretPurge(name) => {
                core.purge_object(a, v, Collection::Secrets, &name)?;
                crate::json_response(StatusCode::NO_CONTENT, String::new())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            vault_host("kv1.vault.localhost:8443", "vault.localhost"),
            Some("kv1")
        );
        assert_eq!(
            vault_host("kv1.vault.localhost", "vault.localhost"),
            Some("kv1")
        );
        assert_eq!(vault_host("a.b.vault.localhost", "vault.localhost"), None);
        assert_eq!(vault_host("vault.localhost", "vault.localhost"), None);
        assert_eq!(vault_host("127.0.0.1:8443", "vault.localhost"), None);
        assert_eq!(port_of("https://vault.localhost:8443"), ":8443");
        assert_eq!(port_of("https://vault.example"), "");
    }
}
