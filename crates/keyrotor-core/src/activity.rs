//! The activity log: one entry per acknowledged change (written by the store
//! in the change's own transaction), per key read and per refused change,
//! hash-chained so that an altered, removed or reordered entry is detected.
//!
//! Entries are [`AuditEvent`]s. The chain: entry `seq` stores
//! `hash = SHA-256(prev_hash || canonical(seq, entry))` (hex), where
//! `prev_hash` is the hash of entry `seq - 1`, or of the anchor (the last
//! entry a retention purge removed; empty before any purge). The store
//! appends in its write transaction, so the database serializes appends
//! (several processes on one database make one chain).

use super::*;

/// The caller named by automatic actions (rotation policies).
pub const SYSTEM_CALLER: &str = "keyrotor";

/// Whether the operation an entry records succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityStatus {
    Succeeded,
    Failed,
}

impl ActivityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::Succeeded => "Succeeded",
            ActivityStatus::Failed => "Failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Succeeded" => Some(ActivityStatus::Succeeded),
            "Failed" => Some(ActivityStatus::Failed),
            _ => None,
        }
    }
}

/// What the wire layer knows of the request behind an action: the
/// operation in Azure's form (`Microsoft.DocumentDB/databaseAccounts/regenerateKey/action`),
/// the resource it acts on and the request's correlation id. Automatic
/// actions have none (the core names them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub operation: Option<String>,
    pub resource_id: Option<String>,
    pub correlation_id: Option<String>,
}

/// One entry as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub seq: u64,
    pub event: AuditEvent,
    /// `None` for entries written before the chain existed (at or below
    /// the anchor).
    pub hash: Option<String>,
}

/// The chain as stored: where it starts and every entry after that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityChain {
    /// The sequence number and hash the first chained entry follows.
    pub anchor_seq: u64,
    pub anchor_hash: String,
    /// Entries after the anchor, in sequence order.
    pub entries: Vec<ActivityRecord>,
    /// The highest sequence number the store ever issued, if it keeps one
    /// (detects removing the newest entries).
    pub highest_issued: Option<u64>,
}

/// Why a chain does not verify: the first entry that does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {found} follows entry {after}: entries {missing_from}..{missing_to} are missing or out of order")]
    Gap {
        after: u64,
        found: u64,
        missing_from: u64,
        missing_to: u64,
    },
    #[error(
        "entry {seq} was altered, or an entry before it removed or moved (its hash does not match)"
    )]
    HashMismatch { seq: u64 },
    #[error("entry {seq} has no hash")]
    Unchained { seq: u64 },
    #[error("entry {last} is the newest left, but the store issued entries up to {issued}: the newest entries are missing")]
    Truncated { last: u64, issued: u64 },
}

fn put(buf: &mut Vec<u8>, field: &[u8]) {
    buf.extend_from_slice(&(field.len() as u64).to_be_bytes());
    buf.extend_from_slice(field);
}

/// The bytes an entry's hash covers: every field, length-prefixed (so no
/// two entries share an encoding), with its sequence number.
pub fn canonical_bytes(seq: u64, e: &AuditEvent) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    b.extend_from_slice(b"keyrotor/activity/v1\0");
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&(e.at.unix_timestamp_nanos() / 1000).to_be_bytes());
    for f in [
        &e.actor,
        &e.action,
        &e.target,
        &e.detail,
        &e.operation,
        &e.resource_id,
        &e.correlation_id,
    ] {
        put(&mut b, f.as_bytes());
    }
    put(&mut b, e.status.as_str().as_bytes());
    b.extend_from_slice(&e.http_status.map_or(0u16, |s| s).to_be_bytes());
    b
}

/// The hash of entry `seq` after an entry whose hash is `prev`.
pub fn chain_hash(prev: &str, seq: u64, e: &AuditEvent) -> String {
    let mut b = Vec::with_capacity(prev.len() + 256);
    put(&mut b, prev.as_bytes());
    b.extend_from_slice(&canonical_bytes(seq, e));
    keyrotor_crypto::sha256_hex(&b)
}

/// Walks the chain: consecutive sequence numbers from the anchor, each hash
/// recomputed from the previous one. Returns how many entries verified.
pub fn verify_chain(chain: &ActivityChain) -> std::result::Result<u64, ChainBreak> {
    let mut prev_seq = chain.anchor_seq;
    let mut prev_hash = chain.anchor_hash.as_str();
    for r in &chain.entries {
        if r.seq != prev_seq + 1 {
            return Err(ChainBreak::Gap {
                after: prev_seq,
                found: r.seq,
                missing_from: prev_seq + 1,
                missing_to: r.seq.saturating_sub(1),
            });
        }
        let Some(hash) = r.hash.as_deref() else {
            return Err(ChainBreak::Unchained { seq: r.seq });
        };
        if !keyrotor_crypto::ct_eq(
            chain_hash(prev_hash, r.seq, &r.event).as_bytes(),
            hash.as_bytes(),
        ) {
            return Err(ChainBreak::HashMismatch { seq: r.seq });
        }
        prev_seq = r.seq;
        prev_hash = hash;
    }
    if let Some(issued) = chain.highest_issued {
        if issued > prev_seq {
            return Err(ChainBreak::Truncated {
                last: prev_seq,
                issued,
            });
        }
    }
    Ok(chain.entries.len() as u64)
}

/// Which entries a reader asks for (Azure Monitor's `$filter`).
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Entries whose resource is in this resource group (case-insensitive).
    pub resource_group: Option<String>,
    /// Entries on this resource or below it (case-insensitive).
    pub resource_id: Option<String>,
    pub correlation_id: Option<String>,
    /// The resource provider namespace of the operation (`Microsoft.DocumentDB`).
    pub resource_provider: Option<String>,
    /// Entries the caller may see: resources under this subscription.
    pub subscription: Option<String>,
    pub caller: Option<String>,
    /// `Succeeded` or `Failed` (case-insensitive).
    pub status: Option<String>,
}

/// The resource group of a resource id, if it names one.
pub fn resource_group_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next().filter(|g| !g.is_empty());
        }
    }
    None
}

/// The subscription of a resource id, if it names one.
pub fn subscription_of(resource_id: &str) -> Option<&str> {
    let mut parts = resource_id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("subscriptions") {
            return parts.next().filter(|s| !s.is_empty());
        }
    }
    None
}

/// The provider namespace of an operation name (`Microsoft.DocumentDB`).
pub fn provider_of(operation: &str) -> &str {
    operation.split('/').next().unwrap_or_default()
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl ActivityQuery {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at <= t)
            && self
                .resource_group
                .as_deref()
                .is_none_or(|g| resource_group_of(&e.resource_id).is_some_and(|x| eq_ci(x, g)))
            && self.resource_id.as_deref().is_none_or(|r| {
                let r = r.trim_end_matches('/');
                let id = e.resource_id.as_str();
                eq_ci(id, r)
                    || (id.len() > r.len()
                        && eq_ci(&id[..r.len()], r)
                        && id.as_bytes()[r.len()] == b'/')
            })
            && self
                .correlation_id
                .as_deref()
                .is_none_or(|c| eq_ci(&e.correlation_id, c))
            && self
                .resource_provider
                .as_deref()
                .is_none_or(|p| eq_ci(provider_of(&e.operation), p))
            && self
                .subscription
                .as_deref()
                .is_none_or(|s| subscription_of(&e.resource_id).is_some_and(|x| eq_ci(x, s)))
            && self.caller.as_deref().is_none_or(|c| eq_ci(&e.actor, c))
            && self
                .status
                .as_deref()
                .is_none_or(|s| eq_ci(e.status.as_str(), s))
    }
}

/// The operation, in Azure's form, of a core action recorded without a
/// request (automatic actions, local commands).
fn default_operation(action: &str) -> String {
    match action {
        "key.rotate.policy" | "key.rotate" => "Microsoft.KeyVault/vaults/keys/rotate/action".into(),
        _ => format!("Keyrotor/{action}"),
    }
}

impl Actor {
    /// A caller without request details (local commands, tests).
    pub fn new(id: impl Into<String>) -> Self {
        Actor(id.into(), RequestInfo::default())
    }

    /// keyrotor itself, for automatic actions.
    pub fn system() -> Self {
        Actor::new(SYSTEM_CALLER)
    }

    pub fn with_request(id: impl Into<String>, request: RequestInfo) -> Self {
        Actor(id.into(), request)
    }
}

impl Keyrotor {
    /// The activity entry of an action by `actor` (written by the caller,
    /// in the store transaction of the change it records).
    pub(crate) fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: String,
        detail: String,
    ) -> AuditEvent {
        self.activity_entry(
            actor,
            action,
            target,
            detail,
            ActivityStatus::Succeeded,
            None,
        )
    }

    fn activity_entry(
        &self,
        actor: &Actor,
        action: &str,
        target: String,
        detail: String,
        status: ActivityStatus,
        http_status: Option<u16>,
    ) -> AuditEvent {
        let req = &actor.1;
        AuditEvent {
            at: self.now(),
            actor: actor.0.clone(),
            action: action.to_string(),
            operation: req
                .operation
                .clone()
                .unwrap_or_else(|| default_operation(action)),
            resource_id: req.resource_id.clone().unwrap_or_else(|| target.clone()),
            correlation_id: req
                .correlation_id
                .clone()
                .or_else(|| keyrotor_crypto::random_guid().ok())
                .unwrap_or_default(),
            status,
            http_status,
            target,
            detail,
        }
    }

    /// Records an action that changed nothing (a key read, a refused
    /// change) in its own transaction. Nothing secret may be in `detail`.
    pub fn record_activity(
        &self,
        actor: &Actor,
        action: &str,
        target: String,
        status: ActivityStatus,
        http_status: Option<u16>,
    ) -> Result<()> {
        let e = self.activity_entry(actor, action, target, String::new(), status, http_status);
        Ok(self.store.append_activity(&e)?)
    }

    /// Every key of the account, decrypted, as a caller reads them: the
    /// read is recorded first (no recorded read, no keys).
    pub fn read_keys(&self, actor: &Actor, account: &Account) -> Result<Vec<AccountKey>> {
        self.record_activity(
            actor,
            "key.read",
            account_target(account),
            ActivityStatus::Succeeded,
            Some(200),
        )?;
        self.list_keys(account)
    }

    /// The entries `q` selects, oldest first, at most `limit`.
    pub fn activity(&self, q: &ActivityQuery, limit: usize) -> Result<Vec<ActivityRecord>> {
        let mut out: Vec<ActivityRecord> = self
            .store
            .activity_between(q.from, q.to)?
            .into_iter()
            .filter(|r| q.matches(&r.event))
            .collect();
        out.truncate(limit);
        Ok(out)
    }

    /// Records, with keyrotor as the caller, the end of each break-glass
    /// window (key auth re-enabled until a time) that ended within the last
    /// `days` days, once per window (also with several processes), at the
    /// time it ended. Returns how many it recorded.
    pub fn record_break_glass_expiries(&self, days: u32) -> Result<usize> {
        let Some(sub) = self.store.meta(META_SUBSCRIPTION)? else {
            return Ok(0);
        };
        let sub = SubscriptionId::parse(&sub)
            .map_err(|_| Error::Storage(StoreError::Corrupt("subscription id".into())))?;
        let now = self.now();
        let from = now - time::Duration::days(i64::from(days));
        let mut recorded = 0;
        for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
            for a in self.store.accounts(&sub, None, kind)? {
                let Some(until) = a.settings.local_auth_reenabled_until else {
                    continue;
                };
                let Ok(at) = OffsetDateTime::from_unix_timestamp(until) else {
                    continue;
                };
                if at > now || at <= from {
                    continue;
                }
                let (ns, ty) = rbac::provider_of(a.kind);
                let resource_id = format!(
                    "/subscriptions/{}/resourceGroups/{}/providers/{ns}/{ty}/{}",
                    a.subscription, a.resource_group, a.name
                );
                let actor = Actor::with_request(
                    SYSTEM_CALLER,
                    RequestInfo {
                        operation: Some(format!("{ns}/{ty}/localAuth/breakGlassExpired/action")),
                        resource_id: Some(resource_id),
                        correlation_id: None,
                    },
                );
                let mut e = self.activity_entry(
                    &actor,
                    "localAuth.breakGlass.expired",
                    account_target(&a),
                    until.to_string(),
                    ActivityStatus::Succeeded,
                    None,
                );
                e.at = at;
                if self.store.append_activity_once(&e)? {
                    recorded += 1;
                }
            }
        }
        Ok(recorded)
    }

    /// Removes the entries older than `days` days (the chain stays
    /// verifiable from the last one removed). Returns how many.
    pub fn prune_activity(&self, days: u32) -> Result<u64> {
        let before = self.now() - time::Duration::days(i64::from(days));
        Ok(self.store.prune_activity(before)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u32) -> AuditEvent {
        AuditEvent {
            at: OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i64::from(n)),
            actor: format!("caller{n}"),
            action: "key.regenerate".into(),
            target: "t".into(),
            detail: "primary".into(),
            operation: "Microsoft.DocumentDB/databaseAccounts/regenerateKey/action".into(),
            resource_id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.DocumentDB/databaseAccounts/a".into(),
            status: ActivityStatus::Succeeded,
            http_status: None,
            correlation_id: format!("c{n}"),
        }
    }

    fn chain(n: u32) -> ActivityChain {
        let mut prev = String::new();
        let mut entries = Vec::new();
        for i in 1..=n {
            let e = ev(i);
            let h = chain_hash(&prev, u64::from(i), &e);
            entries.push(ActivityRecord {
                seq: u64::from(i),
                event: e,
                hash: Some(h.clone()),
            });
            prev = h;
        }
        ActivityChain {
            anchor_seq: 0,
            anchor_hash: String::new(),
            entries,
            highest_issued: Some(u64::from(n)),
        }
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&chain(0)), Ok(0));
    }

    #[test]
    fn an_altered_entry_is_named() {
        for edit in [
            (|e: &mut AuditEvent| e.actor = "someone else".into()) as fn(&mut AuditEvent),
            |e| e.status = ActivityStatus::Failed,
            |e| e.at += time::Duration::microseconds(1),
            |e| e.http_status = Some(409),
            |e| e.detail.push('x'),
        ] {
            let mut c = chain(5);
            edit(&mut c.entries[2].event);
            assert_eq!(verify_chain(&c), Err(ChainBreak::HashMismatch { seq: 3 }));
        }
    }

    #[test]
    fn a_removed_entry_is_a_gap() {
        let mut c = chain(5);
        c.entries.remove(1);
        assert!(matches!(
            verify_chain(&c),
            Err(ChainBreak::Gap {
                after: 1,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn removing_the_newest_entry_is_seen_by_the_issued_sequence() {
        let mut c = chain(5);
        c.entries.pop();
        assert_eq!(
            verify_chain(&c),
            Err(ChainBreak::Truncated { last: 4, issued: 5 })
        );
    }

    #[test]
    fn reordered_entries_do_not_verify() {
        // Contents swapped between two sequence numbers, hashes kept.
        let mut c = chain(5);
        let (a, b) = (c.entries[1].event.clone(), c.entries[2].event.clone());
        c.entries[1].event = b;
        c.entries[2].event = a;
        assert_eq!(verify_chain(&c), Err(ChainBreak::HashMismatch { seq: 2 }));
        // Whole rows swapped with their hashes and renumbered.
        let mut c = chain(5);
        c.entries.swap(1, 2);
        c.entries[1].seq = 2;
        c.entries[2].seq = 3;
        assert_eq!(verify_chain(&c), Err(ChainBreak::HashMismatch { seq: 2 }));
    }

    #[test]
    fn a_purged_prefix_verifies_from_its_anchor() {
        let full = chain(5);
        let c = ActivityChain {
            anchor_seq: 2,
            anchor_hash: full.entries[1].hash.clone().expect("hash"),
            entries: full.entries[2..].to_vec(),
            highest_issued: Some(5),
        };
        assert_eq!(verify_chain(&c), Ok(3));
        let wrong = ActivityChain {
            anchor_hash: "0".repeat(64),
            ..c
        };
        assert_eq!(
            verify_chain(&wrong),
            Err(ChainBreak::HashMismatch { seq: 3 })
        );
    }

    #[test]
    fn queries_select_by_group_resource_correlation_provider() {
        let e = ev(1);
        let q = |f: fn(&mut ActivityQuery)| {
            let mut q = ActivityQuery::default();
            f(&mut q);
            q.matches(&e)
        };
        assert!(q(|q| q.resource_group = Some("G".into())));
        assert!(!q(|q| q.resource_group = Some("g2".into())));
        assert!(q(
            |q| q.resource_id = Some("/subscriptions/s/resourcegroups/g".into())
        ));
        assert!(!q(
            |q| q.resource_id = Some("/subscriptions/s/resourceGroups/g2".into())
        ));
        assert!(q(|q| q.correlation_id = Some("C1".into())));
        assert!(q(
            |q| q.resource_provider = Some("microsoft.documentdb".into())
        ));
        assert!(!q(|q| q.resource_provider = Some("Microsoft.Batch".into())));
        assert!(q(|q| q.subscription = Some("s".into())));
        assert!(!q(
            |q| q.from = Some(OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(2))
        ));
    }
}
