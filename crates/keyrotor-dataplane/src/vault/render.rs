//! How vault objects look on the wire: key bundles, secret bundles and list
//! items (with their attributes and, once deleted, their recovery fields),
//! and rotation policies.

use axum::response::Response;
use base64::Engine as _;
use keyrotor_core::vault::{ActionType, Collection, RotationPolicy, Trigger, Vault, VaultObject};
use keyrotor_core::Error as CoreError;
use keyrotor_crypto::vault::{KeySpec, PublicParts};
use serde_json::{json, Map, Value};

use super::objects::Ctx;
use super::{ok, B64};

/// An object's attributes, with the vault's recovery level.
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

/// The wire layer's document of an object (what a create or update kept).
pub(crate) fn doc(o: &VaultObject) -> Map<String, Value> {
    serde_json::from_str(&o.document).unwrap_or_default()
}

impl Ctx<'_> {
    /// The object's URL (`kid` of a key, `id` of a secret).
    pub(crate) fn id(&self, c: &str, o: &VaultObject, with_version: bool) -> String {
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

    /// One object as its collection shows it: a key bundle (the public
    /// key) or a secret bundle without its value.
    pub(crate) fn bundle(&self, o: &VaultObject) -> Result<Value, CoreError> {
        match o.collection {
            Collection::Keys => self.key_bundle(o),
            Collection::Secrets => Ok(self.item(o, true)),
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
    pub(crate) fn item(&self, o: &VaultObject, with_version: bool) -> Value {
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
    pub(crate) fn policy_json(&self, key: &VaultObject, p: Option<&RotationPolicy>) -> Value {
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

    /// A list page of items (keyrotor answers every list in one page).
    pub(crate) fn page<'o>(
        &self,
        objects: impl IntoIterator<Item = &'o VaultObject>,
        with_version: bool,
    ) -> Response {
        let items: Vec<Value> = objects
            .into_iter()
            .map(|o| self.item(o, with_version))
            .collect();
        ok(&json!({"value": items, "nextLink": null}))
    }
}
