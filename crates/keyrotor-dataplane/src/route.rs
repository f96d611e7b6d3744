//! Where a request goes (account data planes by path prefix or host name),
//! and the activity ids the answers carry.

use super::*;

/// Where a data-plane request goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: AccountKind,
    account: String,
    prefix: String,
    rest: String,
    /// The client's address (for usage records and X-Forwarded-For).
    pub peer: Option<SocketAddr>,
}

impl Target {
    /// The account name as the request gave it.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Path below the account root (`/dbs/db1`, `/` for the root), still
    /// percent-encoded.
    pub fn rest(&self) -> &str {
        match self.rest.as_str() {
            "" => "/",
            r => r,
        }
    }

    /// Prefix of the account root in the request path (`/cosmos/acct`),
    /// empty for host routing.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Finds the data-plane target of a request: host routing under `dns_suffix`
/// first, then the path prefixes `/cosmos/`, `/batch/`, `/ai/`.
pub fn target(host: Option<&str>, path: &str, dns_suffix: Option<&str>) -> Option<Target> {
    if let (Some(host), Some(suffix)) = (host, dns_suffix) {
        let host = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let host = host.to_ascii_lowercase();
        for (label, kind) in [
            ("documents", AccountKind::Cosmos),
            ("batch", AccountKind::Batch),
            ("cognitiveservices", AccountKind::Ai),
        ] {
            if let Some(account) = host.strip_suffix(&format!(".{label}.{suffix}")) {
                if !account.is_empty() && !account.contains('.') {
                    return Some(Target {
                        kind,
                        account: account.to_string(),
                        prefix: String::new(),
                        rest: path.to_string(),
                        peer: None,
                    });
                }
            }
        }
    }
    for (seg, kind) in [
        ("cosmos", AccountKind::Cosmos),
        ("batch", AccountKind::Batch),
        ("ai", AccountKind::Ai),
    ] {
        if let Some(after) = path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(seg))
            .and_then(|p| p.strip_prefix('/'))
        {
            let start = path.len() - after.len();
            let end = after.find('/').map_or(path.len(), |i| start + i);
            if end == start {
                return None;
            }
            return Some(Target {
                kind,
                account: path[start..end].to_string(),
                prefix: path[..end].to_string(),
                rest: path[end..].to_string(),
                peer: None,
            });
        }
    }
    None
}

/// A random (version 4) activity/request id, hyphenated lower-case as the
/// services send it.
pub(crate) struct ActivityId([u8; 36]);

impl ActivityId {
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits and hyphens only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(crate) fn header(&self) -> http::HeaderValue {
        http::HeaderValue::from_bytes(&self.0)
            .unwrap_or_else(|_| http::HeaderValue::from_static("0"))
    }
}

pub(crate) fn activity_id() -> ActivityId {
    let mut buf = [0u8; 36];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    ActivityId(buf)
}
