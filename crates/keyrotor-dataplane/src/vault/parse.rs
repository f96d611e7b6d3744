//! What vault request bodies carry, read and checked: object attributes,
//! the key spec of a create, rotation policies, base64url fields and the
//! document fields an object keeps.

use base64::Engine as _;
use keyrotor_core::vault::{
    ActionType, Collection, IsoDuration, LifetimeAction, ObjectAttributes, Trigger,
};
use keyrotor_crypto::vault::{Curve, KeySpec};
use serde_json::{Map, Value};

use super::{bad, VaultError, B64};

/// For the fuzz targets: [`attributes`] without its HTTP answer.
pub(crate) fn read_attributes(
    body: &Map<String, Value>,
    base: ObjectAttributes,
) -> Result<ObjectAttributes, ()> {
    attributes(body, base).map_err(|_| ())
}

/// The `attributes` of a create or update body over `base` (what the
/// object has, or the defaults): a field absent keeps its value, `null`
/// clears it.
pub(crate) fn attributes(
    body: &Map<String, Value>,
    base: ObjectAttributes,
) -> Result<ObjectAttributes, VaultError> {
    let Some(a) = body.get("attributes") else {
        return Ok(base);
    };
    let Some(a) = a.as_object() else {
        return Err(bad("'attributes' must be an object"));
    };
    let int = |k: &str, cur: Option<i64>| -> Result<Option<i64>, VaultError> {
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
                    bad(format!(
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
pub(crate) fn b64_field(body: &Map<String, Value>, key: &str) -> Option<Vec<u8>> {
    body.get(key)
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s.trim_end_matches('=')).ok())
}

/// The body fields an object of the collection keeps in its document.
pub(crate) fn document_fields(c: Collection) -> &'static [&'static str] {
    match c {
        Collection::Keys => &["key_ops", "tags"],
        Collection::Secrets => &["contentType", "tags"],
    }
}

/// An object's document: `d` with the collection's fields of a create,
/// set or update body laid over it.
pub(crate) fn merge_doc(
    mut d: Map<String, Value>,
    body: &Map<String, Value>,
    c: Collection,
) -> String {
    for f in document_fields(c) {
        if let Some(v) = body.get(*f) {
            d.insert((*f).to_string(), v.clone());
        }
    }
    Value::Object(d).to_string()
}

/// A `KeyRotationPolicy` body.
pub(crate) fn policy(
    body: &Map<String, Value>,
) -> Result<(Vec<LifetimeAction>, Option<IsoDuration>), VaultError> {
    let dur = |v: &Value, what: &str| -> Result<IsoDuration, VaultError> {
        v.as_str().and_then(IsoDuration::parse).ok_or_else(|| {
            bad(format!(
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
                        (Some(d), None) if !d.is_null() => {
                            Trigger::AfterCreate(dur(d, "timeAfterCreate")?)
                        }
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

/// The key spec of a create body, with its `kty` as given.
pub(crate) fn key_spec(body: &Map<String, Value>) -> Result<(KeySpec, String), VaultError> {
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
            return Err(bad(format!(
                "kty '{}' is not supported (RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM)",
                other.chars().take(20).collect::<String>()
            )))
        }
    };
    Ok((spec, kty.to_string()))
}
