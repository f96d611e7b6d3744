//! The ARM wire types: every request and response body of keyrotor's ARM
//! API as a `serde` type, shared by the server (`dto.rs` converts them to
//! and from core types) and the CLI (which builds its requests and reads
//! the answers with them). Provider names, resource ids, key wire names and
//! api-versions are spelled here once.
//!
//! Conventions:
//! - `#[serde(rename_all = "camelCase")]`, so a field's Rust name is its
//!   wire name.
//! - Properties a client sets and ARM echoes (an account's or a vault's)
//!   are kept verbatim in `#[serde(flatten)] extra`; the fields keyrotor
//!   computes are typed beside them and win over a client's value of the
//!   same name (their deserialization is [`lenient`], so whatever a client
//!   stored there is dropped, not refused).
//! - A field ARM sends as `null` is an `Option` without
//!   `skip_serializing_if` (the SDKs expect the key); one ARM leaves out
//!   when unset has `skip_serializing_if = "Option::is_none"`.
//! - Times are [`Timestamp`]s: RFC 3339 UTC with microseconds.
//! - Opaque client values keyrotor only echoes (an account's `identity` or
//!   `sku`, a Cosmos `kind` set by PATCH) stay `serde_json::Value`.
//!
//! Responses leave the server as `serde_json::Value` (`to_value` at the
//! edge, in the handlers), whose objects keep their keys sorted: the bytes
//! on the wire are the ones the hand-built `json!` renderer sent before
//! these types existed (`testdata/wire-golden.txt` records them).

pub mod account;
pub mod api_versions;
pub mod error;
pub mod group;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod metadata;
pub mod monitor;
pub mod rbac;
pub mod vault;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Resource tags: names to string values.
pub type Tags = BTreeMap<String, String>;

/// A list answer: `{"value": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
}

impl<T> List<T> {
    pub fn new(value: Vec<T>) -> Self {
        List { value }
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        List::new(iter.into_iter().collect())
    }
}

/// Only the `properties` of a resource, read as `P` (the CLI reads one
/// aspect of an answer this way, the server the properties of a body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Properties<P> {
    #[serde(default)]
    pub properties: P,
}

/// A point in time on the wire: RFC 3339 UTC with microseconds
/// (`2023-11-14T22:13:20.123456Z`), the precision every SDK parses; read
/// back from any RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    pub fn time(self) -> OffsetDateTime {
        self.0
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp(t)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .map(Timestamp)
            .map_err(|_| serde::de::Error::custom("not an RFC 3339 time"))
    }
}

/// RFC 3339 UTC with microseconds, as [`Timestamp`] writes it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    Timestamp(t).to_string()
}

/// `deserialize_with` for `Option<T>` fields where a present `null`
/// counts: missing is `None` (with `#[serde(default)]`), anything present
/// is `Some` (for `T = Value`, `null` is `Some(Value::Null)`; for
/// `T = Option<U>`, `Some(None)`; for other `T`, a `null` is refused).
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `deserialize_with` for fields whose value a client may have stored in
/// any shape: a `T` if it is one, else `T::default()`. Used for computed
/// fields (the client's value is replaced anyway) and for values keyrotor
/// reads leniently, as ARM does (a Cosmos region without a priority is the
/// first).
pub fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// `deserialize_with` for a list read element by element: a list's
/// elements that are not a `T` (an object, for a struct) are skipped;
/// anything but a list is empty.
pub fn lenient_each<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|i| T::deserialize(ObjectOnly(i)).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// `deserialize_with` for an optional struct that must be a JSON object
/// (serde reads a struct from an array too, field by position; a client's
/// `["Reader", "..."]` is not a role assignment's properties).
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Inner<T>(T);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Inner<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::deserialize(ObjectOnly(d)).map(Inner)
        }
    }
    Ok(Option::<Inner<T>>::deserialize(d)?.map(|i| i.0))
}

/// A deserializer that reads structs only from maps (JSON objects).
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    fn deserialize_map<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

/// `deserialize_with` for an optional list of strings whose other
/// elements are ignored (a list is required; `null` is `None`).
pub fn strings_only<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    let v: Option<Vec<Value>> = Option::deserialize(d)?;
    Ok(v.map(|items| {
        items
            .into_iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect()
    }))
}

/// Reads what an account or vault stored: a JSON object as `T`; `T`'s
/// default for anything else.
pub fn stored<T: DeserializeOwned + Default>(document: &str) -> T {
    match serde_json::from_str::<Value>(document) {
        Ok(v @ Value::Object(_)) => T::deserialize(v).unwrap_or_default(),
        _ => T::default(),
    }
}

/// Serializes `value` into a JSON object's entries (empty if it is not one).
pub fn to_object<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Client properties with keyrotor's defaults: each of `defaults`' fields
/// is set where the client gave no value or `null`.
pub fn with_defaults<D: Serialize>(
    mut props: Map<String, Value>,
    defaults: &D,
) -> Map<String, Value> {
    for (k, v) in to_object(defaults) {
        match props.get(&k) {
            None | Some(Value::Null) => {
                props.insert(k, v);
            }
            Some(_) => {}
        }
    }
    props
}

/// Client properties with keyrotor's defaults where the client gave none
/// (a `null` given is kept).
pub fn with_missing<D: Serialize>(
    mut props: Map<String, Value>,
    defaults: &D,
) -> Map<String, Value> {
    for (k, v) in to_object(defaults) {
        props.entry(k).or_insert(v);
    }
    props
}

/// Splits a client's properties into a response's: its typed (computed)
/// fields claim their names (the client's values there are dropped), every
/// other property lands in the type's `flatten`ed `extra`.
pub fn claim<P: DeserializeOwned + Default>(props: Map<String, Value>) -> P {
    P::deserialize(Value::Object(props)).unwrap_or_default()
}

/// A request body that does not have the expected shape: where (a path
/// such as `properties.disableLocalAuth`, `tags.env` or `.` for the body
/// itself) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "'{}': {}", self.path, self.message)
        }
    }
}

/// Reads a `T` from a JSON value, naming the path of what does not fit.
pub fn decode<T: DeserializeOwned>(v: &Value) -> Result<T, ShapeError> {
    serde_path_to_error::deserialize(v).map_err(|e| ShapeError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_have_microseconds_and_read_any_rfc3339() {
        let t =
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).expect("in range");
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456Z");
        assert_eq!(
            serde_json::to_value(Timestamp(t)).ok(),
            Some(json!("2023-11-14T22:13:20.123456Z"))
        );
        let back: Timestamp =
            serde_json::from_value(json!("2023-11-14T23:13:20.123456789+01:00")).expect("a time");
        assert_eq!(back.0, t);
        assert!(serde_json::from_value::<Timestamp>(json!("yesterday")).is_err());
    }

    #[test]
    fn shapes_name_their_path() {
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code, reason = "only the error matters")]
        struct Body {
            properties: Option<Inner>,
        }
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code, reason = "only the error matters")]
        struct Inner {
            disable_local_auth: Option<bool>,
            tags: Option<Tags>,
        }
        let e = decode::<Body>(&json!({"properties": {"disableLocalAuth": "yes"}}))
            .expect_err("a string is not a boolean");
        assert_eq!(e.path, "properties.disableLocalAuth");
        let e = decode::<Body>(&json!({"properties": {"tags": {"env": 1}}}))
            .expect_err("tag values are strings");
        assert_eq!(e.path, "properties.tags.env");
        assert!(e.to_string().starts_with("'properties.tags.env': "));
    }

    #[test]
    fn defaults_fill_missing_and_null() {
        #[derive(Serialize)]
        struct D {
            a: u8,
            b: u8,
            c: u8,
        }
        let props = to_object(&json!({"a": 5, "b": null}));
        let d = D { a: 1, b: 2, c: 3 };
        assert_eq!(
            Value::Object(with_defaults(props.clone(), &d)),
            json!({"a": 5, "b": 2, "c": 3})
        );
        assert_eq!(
            Value::Object(with_missing(props, &d)),
            json!({"a": 5, "b": null, "c": 3})
        );
    }
}
