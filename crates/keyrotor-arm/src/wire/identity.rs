//! keyrotor's identity extension (`Keyrotor.Identity`): service principals,
//! their client secrets, the token-signing key; and `Keyrotor.Vault`'s
//! rotation-policy run.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A service principal (never with a secret's value, except in
/// [`Principal::secret`] of the answer that created it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub client_id: String,
    pub display_name: String,
    pub tenant_id: String,
    pub created_time: Timestamp,
    pub bootstrap_administrator: bool,
    /// The principal that created it (`null` for the administrator).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub secrets: Vec<SecretInfo>,
    /// The first secret, in the create answer only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<NewSecret>,
}

/// A client secret without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub secret_id: String,
    #[serde(default)]
    pub expires_time: Option<Timestamp>,
    /// When it was added.
    #[serde(default)]
    pub created_time: Option<Timestamp>,
    /// When it last signed in (to about a minute); `null` if never.
    #[serde(default)]
    pub last_used_time: Option<Timestamp>,
}

/// A new client secret: the only answer that carries its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSecret {
    pub secret_id: String,
    pub value: String,
    #[serde(default)]
    pub expires_time: Option<Timestamp>,
}

/// The lifetime of a new secret (1 s to 2 years), if it expires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretLifetime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

/// Creates a service principal (and its first secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePrincipal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The first secret's lifetime, if it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

/// Removes a client secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveSecret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
}

/// The token-signing keys after a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeys {
    /// The key new tokens are signed with.
    pub signing_kid: Option<String>,
    /// Every key the JWKS publishes.
    pub jwks_kids: Vec<String>,
}

/// A token-signing key as `GET /providers/Keyrotor.Identity/signingKeys`
/// lists it (never its key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeyInfo {
    pub kid: String,
    pub created_time: Timestamp,
    /// Whether new tokens are signed with it (the newest key).
    pub signing: bool,
    /// When the next key took over signing; `null` for the signing key.
    /// Tokens it signed stay valid until they expire.
    #[serde(default)]
    pub superseded_time: Option<Timestamp>,
}

/// Runs the due rotation policies, now or (servers started with
/// `--test-clock` only) as of `at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRotationPolicies {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The keys a rotation-policy run rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRun {
    pub rotated: Vec<RotatedKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedKey {
    pub vault: String,
    pub key: String,
    pub version: String,
}
