//! Account keys on the wire: their names per account kind (written once,
//! in [`KEYS`]), `listKeys`/`readonlykeys` and regenerate bodies,
//! connection strings, and keyrotor's `listKeyUsage`.

use keyrotor_types::{AccountKind, KeySlot};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Timestamp;

/// One account key and its wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyName {
    pub kind: AccountKind,
    pub slot: KeySlot,
    /// In `listKeys`, `keysMetadata`, `listKeyUsage` and errors.
    pub name: &'static str,
    /// In a regenerate body (`keyKind` for Cosmos DB, `keyName` otherwise).
    pub regenerate: &'static str,
}

const fn k(
    kind: AccountKind,
    slot: KeySlot,
    name: &'static str,
    regenerate: &'static str,
) -> KeyName {
    KeyName {
        kind,
        slot,
        name,
        regenerate,
    }
}

/// Every account key's wire names.
pub const KEYS: [KeyName; 8] = {
    use AccountKind::{Ai, Batch, Cosmos};
    use KeySlot::{Primary, PrimaryReadonly, Secondary, SecondaryReadonly};
    [
        k(Cosmos, Primary, "primaryMasterKey", "primary"),
        k(Cosmos, Secondary, "secondaryMasterKey", "secondary"),
        k(
            Cosmos,
            PrimaryReadonly,
            "primaryReadonlyMasterKey",
            "primaryReadonly",
        ),
        k(
            Cosmos,
            SecondaryReadonly,
            "secondaryReadonlyMasterKey",
            "secondaryReadonly",
        ),
        k(Batch, Primary, "primary", "Primary"),
        k(Batch, Secondary, "secondary", "Secondary"),
        k(Ai, Primary, "key1", "Key1"),
        k(Ai, Secondary, "key2", "Key2"),
    ]
};

impl KeyName {
    /// The names of a kind's key in a slot; `None` for a slot the kind
    /// does not have.
    pub fn of(kind: AccountKind, slot: KeySlot) -> Option<KeyName> {
        KEYS.into_iter().find(|k| k.kind == kind && k.slot == slot)
    }

    /// The key a `listKeys` name stands for (names differ across kinds).
    pub fn by_name(name: &str) -> Option<KeyName> {
        KEYS.into_iter().find(|k| k.name == name)
    }

    /// A kind's keys, in slot order.
    pub fn all(kind: AccountKind) -> impl Iterator<Item = KeyName> {
        KEYS.into_iter().filter(move |k| k.kind == kind)
    }
}

/// The `listKeys` name of a kind's key in a slot (`primaryMasterKey`,
/// `primary`, `key1`, ...); a read-only slot of a kind without one has
/// the secondary key's.
pub fn key_name(kind: AccountKind, slot: KeySlot) -> &'static str {
    KeyName::of(kind, slot)
        .or_else(|| KeyName::of(kind, KeySlot::Secondary))
        .map_or("", |k| k.name)
}

/// The field of a regenerate body that names the key.
pub fn regenerate_field(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Cosmos => "keyKind",
        AccountKind::Batch | AccountKind::Ai => "keyName",
    }
}

/// Values by key, written as an object under each key's wire name:
/// `{"primaryMasterKey": ..., "secondaryMasterKey": ...}`. Reading skips
/// names that are not keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap<V>(pub Vec<(KeyName, V)>);

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap(Vec::new())
    }
}

impl<V> KeyMap<V> {
    pub fn get(&self, slot: KeySlot) -> Option<&V> {
        self.0.iter().find(|(k, _)| k.slot == slot).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(KeyName, V)> {
        self.0.iter()
    }
}

impl<V: Serialize> Serialize for KeyMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.name, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for KeyMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Keys<V> {
            type Value = KeyMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of account keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyMap<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    match KeyName::by_name(&name) {
                        Some(k) => out.push((k, map.next_value()?)),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(KeyMap(out))
            }
        }
        d.deserialize_map(Keys(std::marker::PhantomData))
    }
}

/// `listKeys`, `readonlykeys` and the Batch and AI regenerate answers: each
/// key's value (`null` for one that cannot be read), and for Batch the
/// account's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(flatten)]
    pub keys: KeyMap<Option<String>>,
}

/// A Cosmos DB regenerate body: `{"keyKind": "primary"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegenerateByKind {
    pub key_kind: Option<String>,
}

/// A Batch or AI Services regenerate body: `{"keyName": "Primary"}`,
/// `{"keyName": "Key2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegenerateByName {
    pub key_name: Option<String>,
}

/// A regenerate body of any account kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RegenerateKey {
    ByKind(RegenerateByKind),
    ByName(RegenerateByName),
}

impl RegenerateKey {
    /// The body that regenerates `key`.
    pub fn new(key: KeyName) -> Self {
        let name = Some(key.regenerate.to_string());
        match key.kind {
            AccountKind::Cosmos => RegenerateKey::ByKind(RegenerateByKind { key_kind: name }),
            AccountKind::Batch | AccountKind::Ai => {
                RegenerateKey::ByName(RegenerateByName { key_name: name })
            }
        }
    }
}

/// `listConnectionStrings` (Cosmos DB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStrings {
    pub connection_strings: Vec<ConnectionString>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionString {
    pub connection_string: String,
    pub description: String,
    /// `Primary`, `Secondary`, `PrimaryReadonly`, `SecondaryReadonly`.
    pub key_kind: String,
    /// `Sql`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The description and `keyKind` of a Cosmos DB connection string.
pub fn connection_string_names(slot: KeySlot) -> (&'static str, &'static str) {
    match slot {
        KeySlot::Primary => ("Primary SQL Connection String", "Primary"),
        KeySlot::Secondary => ("Secondary SQL Connection String", "Secondary"),
        KeySlot::PrimaryReadonly => ("Primary Read-Only SQL Connection String", "PrimaryReadonly"),
        KeySlot::SecondaryReadonly => (
            "Secondary Read-Only SQL Connection String",
            "SecondaryReadonly",
        ),
    }
}

/// A key's generation time and, a keyrotor extension, its last use (in a
/// Cosmos DB account's `keysMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyMetadata {
    pub generation_time: Timestamp,
    #[serde(default)]
    pub last_used_time: Option<Timestamp>,
}

/// `listKeyUsage` (keyrotor extension): per key, its generation, when it
/// was last used, request counts and the clients that used it; with
/// `?guardWindow=`, the guard's verdict too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsageList {
    pub keys: Vec<KeyUsage>,
    /// The guard window judged, in seconds (with `?guardWindow=` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_window_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyUsage {
    /// The key's `listKeys` name.
    pub key_name: String,
    /// Its slot: `primary`, `secondary`, `primaryReadonly`, `secondaryReadonly`.
    pub key_kind: String,
    pub generation: u64,
    pub generation_time: Timestamp,
    #[serde(default)]
    pub last_used_time: Option<Timestamp>,
    #[serde(default)]
    pub requests_last24_hours: u64,
    /// Requests counted while key auth was disabled in report-only mode.
    #[serde(default)]
    pub would_be_rejected: u64,
    #[serde(default)]
    pub requests_last30_days: u64,
    #[serde(default)]
    pub hourly: Vec<HourlyRequests>,
    #[serde(default)]
    pub clients: Vec<ClientUse>,
    /// Used within the guard window (with `?guardWindow=` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_use: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlyRequests {
    pub hour: Timestamp,
    pub requests: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientUse {
    pub user_agent: String,
    pub address: String,
    pub last_seen_time: Timestamp,
    pub requests: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_unique_and_cover_every_slot() {
        for k in KEYS {
            assert_eq!(KeyName::by_name(k.name), Some(k));
        }
        for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
            let slots: Vec<KeySlot> = KeyName::all(kind).map(|k| k.slot).collect();
            assert_eq!(slots, kind.slots());
        }
        assert_eq!(
            key_name(AccountKind::Batch, KeySlot::SecondaryReadonly),
            "secondary"
        );
        assert_eq!(key_name(AccountKind::Ai, KeySlot::PrimaryReadonly), "key2");
    }

    #[test]
    fn key_lists_read_and_write_wire_names() {
        let v = json!({"accountName": "b1", "primary": "p", "secondary": null});
        let list: KeyList = serde_json::from_value(v.clone()).expect("a key list");
        assert_eq!(list.account_name.as_deref(), Some("b1"));
        assert_eq!(
            list.keys.get(KeySlot::Primary),
            Some(&Some("p".to_string()))
        );
        assert_eq!(list.keys.get(KeySlot::Secondary), Some(&None));
        assert_eq!(serde_json::to_value(&list).ok(), Some(v));
        let ai: KeyList = serde_json::from_value(json!({"key2": "b", "key1": "a", "other": 1}))
            .expect("a key list");
        assert_eq!(
            serde_json::to_value(&ai).ok(),
            Some(json!({"key1": "a", "key2": "b"}))
        );
    }

    #[test]
    fn regenerate_bodies_per_kind() {
        let body = |kind, slot| {
            serde_json::to_value(RegenerateKey::new(KeyName::of(kind, slot).expect("a key"))).ok()
        };
        assert_eq!(
            body(AccountKind::Cosmos, KeySlot::PrimaryReadonly),
            Some(json!({"keyKind": "primaryReadonly"}))
        );
        assert_eq!(
            body(AccountKind::Batch, KeySlot::Secondary),
            Some(json!({"keyName": "Secondary"}))
        );
        assert_eq!(
            body(AccountKind::Ai, KeySlot::Primary),
            Some(json!({"keyName": "Key1"}))
        );
    }
}
