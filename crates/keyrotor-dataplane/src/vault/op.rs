//! The vault operations keyrotor serves, resolved once per request from the
//! method and the path, with the data action each needs: the role check
//! and the handler act on the one resolved [`Op`]. Keys and secrets share
//! their lifecycle operations (get, list, versions, update, delete,
//! backup, restore and the deleted objects), each naming its
//! [`Collection`]; what only keys have (create, rotate, the cryptographic
//! operations, rotation policies) and what only secrets have (set) are
//! their own variants.

use http::Method;
use keyrotor_core::vault::Collection;

/// One vault request, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `POST /keys/{name}/create`
    CreateKey(String),
    /// `PUT /secrets/{name}`
    SetSecret(String),
    /// `GET /{keys|secrets}/{name}/[{version}]` (the latest without one)
    Get(Collection, String, Option<String>),
    /// `GET /{keys|secrets}`: the latest version of every live object.
    List(Collection),
    /// `GET /{keys|secrets}/{name}/versions`
    Versions(Collection, String),
    /// `PATCH /{keys|secrets}/{name}[/{version}]`
    Update(Collection, String, Option<String>),
    /// `DELETE /{keys|secrets}/{name}`: a soft delete.
    Delete(Collection, String),
    /// `POST /{keys|secrets}/{name}/backup`
    Backup(Collection, String),
    /// `POST /{keys|secrets}/restore`
    Restore(Collection),
    /// `GET /deleted{keys|secrets}`
    ListDeleted(Collection),
    /// `GET /deleted{keys|secrets}/{name}`
    GetDeleted(Collection, String),
    /// `POST /deleted{keys|secrets}/{name}/recover`
    Recover(Collection, String),
    /// `DELETE /deleted{keys|secrets}/{name}`
    Purge(Collection, String),
    /// `POST /keys/{name}/rotate`
    RotateKey(String),
    /// `POST /keys/{name}/{version}/{operation}`
    Crypto {
        name: String,
        version: String,
        op: CryptoOp,
    },
    /// `GET /keys/{name}/rotationpolicy`
    GetRotationPolicy(String),
    /// `PUT /keys/{name}/rotationpolicy`
    SetRotationPolicy(String),
}

/// A key operation on data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CryptoOp {
    Wrap,
    Unwrap,
    Encrypt,
    Decrypt,
    Sign,
    Verify,
}

impl CryptoOp {
    /// The operation a path segment names (`wrapkey`, `unwrapKey`, ...).
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment.to_ascii_lowercase().as_str() {
            "wrapkey" => CryptoOp::Wrap,
            "unwrapkey" => CryptoOp::Unwrap,
            "encrypt" => CryptoOp::Encrypt,
            "decrypt" => CryptoOp::Decrypt,
            "sign" => CryptoOp::Sign,
            "verify" => CryptoOp::Verify,
            _ => return None,
        })
    }
}

macro_rules! action {
    ($suffix:literal) => {
        concat!("Microsoft.KeyVault/vaults/", $suffix)
    };
}

impl Op {
    /// Resolves a request; `None` for what keyrotor does not serve (501).
    /// A key or secret name without a version reads the latest only with
    /// a trailing slash (`GET /keys/{name}/`), as the SDKs send it.
    pub(crate) fn parse(m: &Method, path: &str) -> Option<Op> {
        use Collection::{Keys, Secrets};
        let trailing = path.ends_with('/') && path.len() > 1;
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (first, rest) = segs.split_first()?;
        let live = match *first {
            "keys" => Some(Keys),
            "secrets" => Some(Secrets),
            _ => None,
        };
        let deleted = match *first {
            "deletedkeys" => Some(Keys),
            "deletedsecrets" => Some(Secrets),
            _ => None,
        };
        let s = |n: &&str| n.to_string();
        let version = |v: &&str| Some(v.to_string()).filter(|v| !v.is_empty());
        let policy = |p: &&str| p.eq_ignore_ascii_case("rotationpolicy");
        Some(match (m.clone(), live, deleted, rest) {
            (Method::POST, Some(Keys), _, [n, "create"]) => Op::CreateKey(s(n)),
            (Method::POST, Some(c), _, ["restore"]) => Op::Restore(c),
            (Method::POST, Some(c), _, [n, "backup"]) => Op::Backup(c, s(n)),
            (Method::GET, Some(Keys), _, [n, p]) if policy(p) => Op::GetRotationPolicy(s(n)),
            (Method::PUT, Some(Keys), _, [n, p]) if policy(p) => Op::SetRotationPolicy(s(n)),
            (Method::GET, Some(c), _, []) => Op::List(c),
            (Method::GET, Some(c), _, [n, "versions"]) => Op::Versions(c, s(n)),
            (Method::GET, Some(c), _, [n]) if trailing => Op::Get(c, s(n), None),
            (Method::GET, Some(c), _, [n, v]) => Op::Get(c, s(n), version(v)),
            (Method::PATCH, Some(c), _, [n]) => Op::Update(c, s(n), None),
            (Method::PATCH, Some(c), _, [n, v]) => Op::Update(c, s(n), version(v)),
            (Method::POST, Some(Keys), _, [n, "rotate"]) => Op::RotateKey(s(n)),
            (Method::DELETE, Some(c), _, [n]) => Op::Delete(c, s(n)),
            (Method::POST, Some(Keys), _, [n, v, what]) => Op::Crypto {
                name: s(n),
                version: s(v),
                op: CryptoOp::parse(what)?,
            },
            (Method::PUT, Some(Secrets), _, [n]) => Op::SetSecret(s(n)),
            (Method::GET, _, Some(c), []) => Op::ListDeleted(c),
            (Method::GET, _, Some(c), [n]) => Op::GetDeleted(c, s(n)),
            (Method::POST, _, Some(c), [n, "recover"]) => Op::Recover(c, s(n)),
            (Method::DELETE, _, Some(c), [n]) => Op::Purge(c, s(n)),
            _ => return None,
        })
    }

    /// The data action a bearer token's principal needs.
    pub(crate) fn action(&self) -> &'static str {
        use Collection::{Keys, Secrets};
        match self {
            Op::CreateKey(_) => action!("keys/create/action"),
            Op::SetSecret(_) => action!("secrets/setSecret/action"),
            Op::Get(Keys, ..) | Op::List(Keys) | Op::Versions(Keys, _) => action!("keys/read"),
            Op::Get(Secrets, ..) => action!("secrets/getSecret/action"),
            Op::List(Secrets) | Op::Versions(Secrets, _) => {
                action!("secrets/readMetadata/action")
            }
            Op::Update(Keys, ..) => action!("keys/update/action"),
            Op::Update(Secrets, ..) => action!("secrets/update/action"),
            Op::Delete(Keys, _) => action!("keys/delete"),
            Op::Delete(Secrets, _) => action!("secrets/delete"),
            Op::Backup(Keys, _) => action!("keys/backup/action"),
            Op::Backup(Secrets, _) => action!("secrets/backup/action"),
            Op::Restore(Keys) => action!("keys/restore/action"),
            Op::Restore(Secrets) => action!("secrets/restore/action"),
            Op::ListDeleted(Keys) | Op::GetDeleted(Keys, _) => action!("deletedKeys/read"),
            Op::ListDeleted(Secrets) | Op::GetDeleted(Secrets, _) => {
                action!("deletedSecrets/read")
            }
            Op::Recover(Keys, _) => action!("deletedKeys/recover/action"),
            Op::Recover(Secrets, _) => action!("deletedSecrets/recover/action"),
            Op::Purge(Keys, _) => action!("deletedKeys/delete"),
            Op::Purge(Secrets, _) => action!("deletedSecrets/delete"),
            Op::RotateKey(_) => action!("keys/rotate/action"),
            Op::Crypto { op, .. } => match op {
                CryptoOp::Wrap => action!("keys/wrap/action"),
                CryptoOp::Unwrap => action!("keys/unwrap/action"),
                CryptoOp::Encrypt => action!("keys/encrypt/action"),
                CryptoOp::Decrypt => action!("keys/decrypt/action"),
                CryptoOp::Sign => action!("keys/sign/action"),
                CryptoOp::Verify => action!("keys/verify/action"),
            },
            Op::GetRotationPolicy(_) => action!("keyrotationpolicies/read"),
            Op::SetRotationPolicy(_) => action!("keyrotationpolicies/write"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data action of what runs, for every route the SDKs use.
    #[test]
    fn resolved_operations_and_their_actions() {
        let op = |m: Method, p: &str| Op::parse(&m, p);
        let action = |m: Method, p: &str| op(m, p).map(|o| o.action());
        for (m, p, want) in [
            (Method::POST, "/keys/k/create", "keys/create/action"),
            (Method::GET, "/keys/k/", "keys/read"),
            (Method::GET, "/keys/k/v1", "keys/read"),
            (Method::GET, "/keys", "keys/read"),
            (Method::GET, "/keys/k/versions", "keys/read"),
            (Method::PATCH, "/keys/k/v1", "keys/update/action"),
            (Method::POST, "/keys/k/rotate", "keys/rotate/action"),
            (Method::DELETE, "/keys/k", "keys/delete"),
            (Method::POST, "/keys/k/v1/wrapKey", "keys/wrap/action"),
            (Method::POST, "/keys/k/v1/unwrapkey", "keys/unwrap/action"),
            (Method::POST, "/keys/k/v1/encrypt", "keys/encrypt/action"),
            (Method::POST, "/keys/k/v1/decrypt", "keys/decrypt/action"),
            (Method::POST, "/keys/k/v1/sign", "keys/sign/action"),
            (Method::POST, "/keys/k/v1/verify", "keys/verify/action"),
            (
                Method::GET,
                "/keys/k/rotationPolicy",
                "keyrotationpolicies/read",
            ),
            (
                Method::PUT,
                "/keys/k/rotationpolicy",
                "keyrotationpolicies/write",
            ),
            (Method::POST, "/keys/k/backup", "keys/backup/action"),
            (Method::POST, "/keys/restore", "keys/restore/action"),
            (Method::GET, "/deletedkeys", "deletedKeys/read"),
            (Method::GET, "/deletedkeys/k", "deletedKeys/read"),
            (
                Method::POST,
                "/deletedkeys/k/recover",
                "deletedKeys/recover/action",
            ),
            (Method::DELETE, "/deletedkeys/k", "deletedKeys/delete"),
            (Method::PUT, "/secrets/s", "secrets/setSecret/action"),
            (Method::GET, "/secrets/s/", "secrets/getSecret/action"),
            (
                Method::GET,
                "/secrets/s/rotationpolicy",
                "secrets/getSecret/action",
            ),
            (Method::GET, "/secrets", "secrets/readMetadata/action"),
            (
                Method::GET,
                "/secrets/s/versions",
                "secrets/readMetadata/action",
            ),
            (Method::PATCH, "/secrets/s", "secrets/update/action"),
            (Method::DELETE, "/secrets/s", "secrets/delete"),
            (Method::POST, "/secrets/s/backup", "secrets/backup/action"),
            (Method::POST, "/secrets/restore", "secrets/restore/action"),
            (Method::GET, "/deletedsecrets/s", "deletedSecrets/read"),
            (
                Method::POST,
                "/deletedsecrets/s/recover",
                "deletedSecrets/recover/action",
            ),
            (Method::DELETE, "/deletedsecrets/s", "deletedSecrets/delete"),
        ] {
            assert_eq!(
                action(m.clone(), p),
                Some(format!("Microsoft.KeyVault/vaults/{want}").as_str()),
                "{m} {p}"
            );
        }
        assert_eq!(
            op(Method::GET, "/keys/k/"),
            Some(Op::Get(Collection::Keys, "k".into(), None))
        );
        // Not served: a key without a trailing slash, secrets' key-only
        // operations, unknown crypto operations and collections.
        for (m, p) in [
            (Method::GET, "/keys/k"),
            (Method::PUT, "/keys/k"),
            (Method::POST, "/secrets/s/create"),
            (Method::POST, "/secrets/s/rotate"),
            (Method::POST, "/secrets/s/v1/sign"),
            (Method::PUT, "/secrets/s/rotationpolicy"),
            (Method::POST, "/keys/k/v1/frobnicate"),
            (Method::GET, "/certificates"),
            (Method::GET, "/"),
        ] {
            assert_eq!(op(m.clone(), p), None, "{m} {p}");
        }
    }
}
