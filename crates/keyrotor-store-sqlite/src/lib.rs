//! SQLite implementation of [`keyrotor_core::Store`].
//!
//! One writer connection (writes are serialized, which also serializes
//! concurrent regenerations) and a small pool of reader connections, all in
//! WAL mode with `synchronous=FULL` so an acknowledged write survives a crash
//! or power loss. `secure_delete` overwrites freed pages, so a replaced sealed
//! key does not linger in the file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use keyrotor_core::rbac::RoleAssignment;
use keyrotor_core::store::{
    Account, AccountSettings, AccountSpec, AuditEvent, ChangeDomain, ChangeSeqs, DataItem,
    Principal, PrincipalSecret, PutMode, ResourceGroup, RetiredKey, SealFn, Store, StoreError,
    StoreResult, StoredKey, StoredSigningKey, StoredUsage,
};
use keyrotor_core::usage::{ClientSeen, UsageDelta};
use keyrotor_core::vault::{Collection, ObjectAttributes, Vault, VaultObject, VaultSettings};
use keyrotor_types::{AccountKind, AccountName, KeySlot, ResourceGroupName, SubscriptionId};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};
use time::OffsetDateTime;

/// The schema steps in order; step i (from 0) brings `user_version` to i + 1.
const MIGRATIONS: [&str; 7] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7,
];
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SCHEMA_V1: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE resource_groups(
  subscription TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL,
  location TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY(subscription, name_key));
CREATE TABLE accounts(
  id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  name_key TEXT NOT NULL, name TEXT NOT NULL, subscription TEXT NOT NULL, group_key TEXT NOT NULL,
  location TEXT NOT NULL, tags TEXT NOT NULL, document TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  UNIQUE(kind, name_key),
  FOREIGN KEY(subscription, group_key) REFERENCES resource_groups(subscription, name_key) ON DELETE CASCADE);
CREATE INDEX accounts_by_group ON accounts(subscription, group_key, kind);
CREATE TABLE account_keys(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, generation INTEGER NOT NULL, sealed BLOB NOT NULL, generated_at INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot));
CREATE TABLE audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE principals(client_id TEXT PRIMARY KEY, display_name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE principal_secrets(
  client_id TEXT NOT NULL REFERENCES principals(client_id) ON DELETE CASCADE,
  secret_id TEXT NOT NULL, verifier TEXT NOT NULL, expires_at INTEGER,
  PRIMARY KEY(client_id, secret_id));
CREATE TABLE signing_keys(kid TEXT PRIMARY KEY, sealed BLOB NOT NULL, created_at INTEGER NOT NULL);
";

/// Key usage metadata and data-plane items.
const SCHEMA_V2: &str = "
ALTER TABLE accounts ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
CREATE TABLE key_usage(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, generation INTEGER NOT NULL, last_used INTEGER,
  PRIMARY KEY(account_id, slot));
CREATE TABLE key_usage_hourly(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, hour INTEGER NOT NULL, requests INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot, hour));
CREATE TABLE key_clients(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, user_agent TEXT NOT NULL, address TEXT NOT NULL,
  last_seen INTEGER NOT NULL, requests INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot, user_agent, address));
CREATE TABLE data_items(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, etag TEXT NOT NULL, ts INTEGER NOT NULL,
  UNIQUE(account_id, collection, id));
";

/// Report-only counts of requests that disabling key auth would refuse.
const SCHEMA_V3: &str = "ALTER TABLE key_usage ADD COLUMN would_reject INTEGER NOT NULL DEFAULT 0;";

/// Role assignments. `scope_key` is the normalized (lower-case) scope so
/// that deleting a resource can revoke everything at or below it.
const SCHEMA_V4: &str = "
CREATE TABLE role_assignments(
  name TEXT PRIMARY KEY, scope TEXT NOT NULL, scope_key TEXT NOT NULL,
  principal_key TEXT NOT NULL, principal_id TEXT NOT NULL, role_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, created_by TEXT NOT NULL,
  UNIQUE(principal_key, role_id, scope_key));
CREATE INDEX role_assignments_scope ON role_assignments(scope_key);
";

/// Key vaults and their keys and secrets (every version sealed). Vaults
/// have no foreign key to their group: deleting a group soft-deletes them.
const SCHEMA_V5: &str = "
CREATE TABLE vaults(
  id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, name_key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  subscription TEXT NOT NULL, group_key TEXT NOT NULL, group_name TEXT NOT NULL, location TEXT NOT NULL,
  tags TEXT NOT NULL, document TEXT NOT NULL, soft_delete_days INTEGER NOT NULL,
  purge_protection INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE TABLE vault_objects(
  vault_id INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  collection TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  enabled INTEGER, nbf INTEGER, exp INTEGER, document TEXT NOT NULL, sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER, seq INTEGER NOT NULL,
  PRIMARY KEY(vault_id, collection, name_key, version));
CREATE TABLE vault_rotation_policies(
  vault_id INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE, name_key TEXT NOT NULL,
  policy TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(vault_id, name_key));
";

/// Who owns a service principal (may manage its secrets and delete it):
/// the principal that created it. NULL for the bootstrap administrator and
/// for principals created before owners were recorded.
const SCHEMA_V6: &str = "ALTER TABLE principals ADD COLUMN owner TEXT;";

/// Change sequences, one per cached domain, moved in the transaction of
/// every change a cache depends on.
const SCHEMA_V7: &str = "
CREATE TABLE changes(domain TEXT PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO changes(domain, seq) VALUES
  ('accounts', 0), ('rbac', 0), ('identity', 0), ('signing', 0), ('vaults', 0);
";

const READERS: usize = 4;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn backend(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Unavailable(e.to_string())
            }
            ErrorCode::ConstraintViolation => {
                return match f.extended_code {
                    rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound,
                    _ => StoreError::Conflict,
                }
            }
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

fn from_micros(us: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid {what}"))
}

fn tags_to_text(tags: &BTreeMap<String, String>) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".into())
}

fn tags_from_text(s: &str) -> StoreResult<BTreeMap<String, String>> {
    serde_json::from_str(s).map_err(|_| corrupt("tags"))
}

fn open_conn(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         PRAGMA secure_delete=ON; PRAGMA busy_timeout=5000;",
    )
    .map_err(backend)?;
    // Room for every statement the store prepares with `prepare_cached`
    // (rusqlite's default of 16 would evict some of them on each cycle).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating or migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = open_conn(path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer connection
    /// and commits if it returns Ok; an Err rolls everything back.
    fn write_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.write();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let out = f(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(out)
    }

    fn read(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(g) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return g;
            }
        }
        self.readers[start % self.readers.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {version} is newer than this keyrotor ({SCHEMA_VERSION}); refusing to open"
        )));
    }
    // Each step runs in its own transaction and records its version, so an
    // interrupted upgrade resumes where it stopped.
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let to = i64::try_from(i + 1).unwrap_or(i64::MAX);
        if version >= to {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA user_version={to}"))
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

/// Deletes the role assignments at `scope_key` and every scope below it.
/// One client secret's row (its verifier, never the secret).
fn insert_secret(conn: &Connection, client_id: &str, s: &PrincipalSecret) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO principal_secrets(client_id, secret_id, verifier, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![client_id, s.secret_id, s.verifier, s.expires_at.map(to_micros)],
    )
    .map_err(backend)?;
    Ok(())
}

/// Moves the change sequence of each domain, in the transaction that
/// changes it (what caches of those domains compare, on every node).
fn bump(conn: &Connection, domains: &[ChangeDomain]) -> StoreResult<()> {
    for d in domains {
        conn.execute(
            "UPDATE changes SET seq = seq + 1 WHERE domain = ?1",
            [d.as_str()],
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// The key slots of the accounts `filter` selects (alias `a`), in the
/// transaction that deletes them.
fn retired_keys(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> StoreResult<Vec<RetiredKey>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT a.uid, k.slot, k.generation FROM account_keys k JOIN accounts a ON a.id = k.account_id {filter}"
        ))
        .map_err(backend)?;
    let rows = stmt
        .query_map(args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (account_uid, slot, generation) = row.map_err(backend)?;
        out.push(RetiredKey {
            account_uid,
            slot: KeySlot::parse(&slot).ok_or_else(|| corrupt("slot"))?,
            generation: u64::try_from(generation).map_err(|_| corrupt("generation"))?,
        });
    }
    Ok(out)
}

fn revoke_under(conn: &Connection, scope_key: &str) -> StoreResult<()> {
    // The root or an empty key would revoke every assignment: never a
    // deletion's scope (the transaction fails and changes nothing).
    if scope_key.len() <= 1 || !scope_key.starts_with('/') {
        return Err(StoreError::Corrupt(format!(
            "refusing to revoke role assignments under '{scope_key}'"
        )));
    }
    let like = format!(
        "{}/%",
        scope_key
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    conn.execute(
        "DELETE FROM role_assignments WHERE scope_key = ?1 OR scope_key LIKE ?2 ESCAPE '\\'",
        params![scope_key, like],
    )
    .map_err(backend)?;
    Ok(())
}

const VAULT_COLS: &str =
    "id, uid, name, subscription, group_name, location, tags, document, soft_delete_days, \
    purge_protection, created_at, updated_at, deleted_at";

fn vault_from_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<Vault>> {
    let sub: String = r.get(3)?;
    let group: String = r.get(4)?;
    let name: String = r.get(2)?;
    let tags: String = r.get(6)?;
    let created: i64 = r.get(10)?;
    let updated: i64 = r.get(11)?;
    let deleted: Option<i64> = r.get(12)?;
    let id: i64 = r.get(0)?;
    let uid: String = r.get(1)?;
    let location: String = r.get(5)?;
    let document: String = r.get(7)?;
    let days: u32 = r.get(8)?;
    let pp: bool = r.get(9)?;
    Ok((|| {
        Ok(Vault {
            id,
            uid,
            subscription: SubscriptionId::parse(&sub).map_err(|_| corrupt("subscription"))?,
            resource_group: ResourceGroupName::parse(&group).map_err(|_| corrupt("group name"))?,
            name: keyrotor_types::VaultName::parse(&name).map_err(|_| corrupt("vault name"))?,
            location,
            tags: tags_from_text(&tags)?,
            document,
            settings: VaultSettings {
                soft_delete_days: days,
                purge_protection: pp,
            },
            created_at: from_micros(created)?,
            updated_at: from_micros(updated)?,
            deleted_at: deleted.map(from_micros).transpose()?,
        })
    })())
}

fn insert_audit(conn: &Connection, a: &AuditEvent) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![to_micros(a.at), a.actor, a.action, a.target, a.detail],
    )
    .map_err(backend)?;
    Ok(())
}

const ACCOUNT_COLS: &str = "id, uid, kind, name, subscription, group_key, location, tags, document, created_at, updated_at, \
     (SELECT name FROM resource_groups g WHERE g.subscription = accounts.subscription AND g.name_key = accounts.group_key), settings";

fn settings_to_text(s: &AccountSettings) -> String {
    serde_json::json!({
        "disableLocalAuth": s.disable_local_auth,
        "upstream": s.upstream,
        "regenerationGuardMinutes": s.regeneration_guard_minutes,
        "localAuthReportOnly": s.local_auth_report_only,
        "localAuthReenabledUntil": s.local_auth_reenabled_until,
    })
    .to_string()
}

fn settings_from_text(t: &str) -> StoreResult<AccountSettings> {
    let v: serde_json::Value = serde_json::from_str(t).map_err(|_| corrupt("settings"))?;
    Ok(AccountSettings {
        disable_local_auth: v["disableLocalAuth"].as_bool().unwrap_or(false),
        upstream: v["upstream"].as_str().map(str::to_string),
        regeneration_guard_minutes: v["regenerationGuardMinutes"]
            .as_u64()
            .and_then(|m| u32::try_from(m).ok()),
        local_auth_report_only: v["localAuthReportOnly"].as_bool().unwrap_or(false),
        local_auth_reenabled_until: v["localAuthReenabledUntil"].as_i64(),
    })
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<Account>> {
    let kind: String = r.get(2)?;
    let name: String = r.get(3)?;
    let sub: String = r.get(4)?;
    let group: Option<String> = r.get(11)?;
    let tags: String = r.get(7)?;
    let id: i64 = r.get(0)?;
    let uid: String = r.get(1)?;
    let location: String = r.get(6)?;
    let document: String = r.get(8)?;
    let created: i64 = r.get(9)?;
    let updated: i64 = r.get(10)?;
    let settings: String = r.get(12)?;
    Ok((|| {
        let kind = AccountKind::parse(&kind).ok_or_else(|| corrupt("account kind"))?;
        Ok(Account {
            id,
            uid,
            kind,
            subscription: SubscriptionId::parse(&sub).map_err(|_| corrupt("subscription"))?,
            resource_group: ResourceGroupName::parse(group.as_deref().unwrap_or_default())
                .map_err(|_| corrupt("group"))?,
            name: AccountName::parse(kind, &name).map_err(|_| corrupt("account name"))?,
            location,
            tags: tags_from_text(&tags)?,
            document,
            settings: settings_from_text(&settings)?,
            created_at: from_micros(created)?,
            updated_at: from_micros(updated)?,
        })
    })())
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<StoreResult<StoredKey>> {
    let slot: String = r.get(0)?;
    let generation: i64 = r.get(1)?;
    let sealed: Vec<u8> = r.get(2)?;
    let at: i64 = r.get(3)?;
    Ok((|| {
        Ok(StoredKey {
            slot: KeySlot::parse(&slot).ok_or_else(|| corrupt("key slot"))?,
            generation: u64::try_from(generation).map_err(|_| corrupt("generation"))?,
            sealed,
            generated_at: from_micros(at)?,
        })
    })())
}

fn group_from_row(
    sub: &SubscriptionId,
    r: &Row<'_>,
) -> rusqlite::Result<StoreResult<ResourceGroup>> {
    let name: String = r.get(0)?;
    let location: String = r.get(1)?;
    let tags: String = r.get(2)?;
    let created: i64 = r.get(3)?;
    Ok((|| {
        Ok(ResourceGroup {
            subscription: sub.clone(),
            name: ResourceGroupName::parse(&name).map_err(|_| corrupt("group name"))?,
            location,
            tags: tags_from_text(&tags)?,
            created_at: from_micros(created)?,
        })
    })())
}

fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<StoreResult<T>>>) -> StoreResult<Vec<T>> {
    rows.map(|r| r.map_err(backend).and_then(|x| x)).collect()
}

fn gen_to_sql(g: u64) -> StoreResult<i64> {
    i64::try_from(g).map_err(|_| corrupt("generation"))
}

impl Store for SqliteStore {
    fn change_seqs(&self) -> StoreResult<ChangeSeqs> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached("SELECT domain, seq FROM changes")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(backend)?;
        let mut out = ChangeSeqs::default();
        for row in rows {
            let (domain, seq) = row.map_err(backend)?;
            let d = ChangeDomain::parse(&domain).ok_or_else(|| corrupt("change domain"))?;
            out.set(
                d,
                u64::try_from(seq).map_err(|_| corrupt("change sequence"))?,
            );
        }
        Ok(out)
    }

    fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        self.read()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(backend)
    }

    fn init_meta(&self, key: &str, value: &str) -> StoreResult<String> {
        let conn = self.write();
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![key, value],
        )
        .map_err(backend)?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .map_err(backend)
    }

    fn upsert_group(&self, g: &ResourceGroup, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            let exists: bool = tx
                .query_row(
                    "SELECT 1 FROM resource_groups WHERE subscription = ?1 AND name_key = ?2",
                    params![g.subscription.as_str(), g.name.key()],
                    |_| Ok(true),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(false);
            tx.execute(
                "INSERT INTO resource_groups(subscription, name_key, name, location, tags, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(subscription, name_key) DO UPDATE SET tags = excluded.tags",
                params![
                    g.subscription.as_str(),
                    g.name.key(),
                    g.name.as_str(),
                    g.location,
                    tags_to_text(&g.tags),
                    to_micros(g.created_at)
                ],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(!exists)
        })
    }

    fn group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> StoreResult<Option<ResourceGroup>> {
        self.read()
            .query_row(
                "SELECT name, location, tags, created_at FROM resource_groups WHERE subscription = ?1 AND name_key = ?2",
                params![sub.as_str(), name.key()],
                |r| group_from_row(sub, r),
            )
            .optional()
            .map_err(backend)?
            .transpose()
    }

    fn groups(&self, sub: &SubscriptionId) -> StoreResult<Vec<ResourceGroup>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, location, tags, created_at FROM resource_groups WHERE subscription = ?1 ORDER BY name_key",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([sub.as_str()], |r| group_from_row(sub, r))
            .map_err(backend)?;
        collect(rows)
    }

    fn delete_group(
        &self,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts, ChangeDomain::Rbac, ChangeDomain::Vaults])?;
            let retired = retired_keys(
                tx,
                "WHERE a.subscription = ?1 AND a.group_key = ?2",
                params![sub.as_str(), name.key()],
            )?;
            let n = tx
                .execute(
                    "DELETE FROM resource_groups WHERE subscription = ?1 AND name_key = ?2",
                    params![sub.as_str(), name.key()],
                )
                .map_err(backend)?;
            if n == 0 {
                return Ok(None);
            }
            revoke_under(tx, scope_key)?;
            // Vaults in the group are soft-deleted, as Azure does: their
            // retention and purge protection still hold.
            tx.execute(
                "UPDATE vaults SET deleted_at = ?3 WHERE subscription = ?1 AND group_key = ?2 AND deleted_at IS NULL",
                params![sub.as_str(), name.key(), to_micros(audit.at)],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(Some(retired))
        })
    }

    fn insert_account(
        &self,
        a: &Account,
        keys: &[StoredKey],
        audit: &AuditEvent,
    ) -> StoreResult<Account> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            tx.execute(
                "INSERT INTO accounts(uid, kind, name_key, name, subscription, group_key, location, tags, document, created_at, updated_at, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    a.uid,
                    a.kind.as_str(),
                    a.name.key(),
                    a.name.as_str(),
                    a.subscription.as_str(),
                    a.resource_group.key(),
                    a.location,
                    tags_to_text(&a.tags),
                    a.document,
                    to_micros(a.created_at),
                    to_micros(a.updated_at),
                    settings_to_text(&a.settings)
                ],
            )
            .map_err(backend)?;
            let id = tx.last_insert_rowid();
            for k in keys {
                tx.execute(
                    "INSERT INTO account_keys(account_id, slot, generation, sealed, generated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, k.slot.as_str(), gen_to_sql(k.generation)?, k.sealed, to_micros(k.generated_at)],
                )
                .map_err(backend)?;
            }
            insert_audit(tx, audit)?;
            Ok(Account { id, ..a.clone() })
        })
    }

    fn update_account(
        &self,
        id: i64,
        spec: &AccountSpec,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            let n = tx
                .execute(
                    "UPDATE accounts SET location = ?2, tags = ?3, document = ?4, updated_at = ?5, settings = ?6 WHERE id = ?1",
                    params![id, spec.location, tags_to_text(&spec.tags), spec.document, to_micros(at), settings_to_text(&spec.settings)],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(tx, audit)?;
                    Ok(())
        })
    }

    fn account(&self, kind: AccountKind, name: &AccountName) -> StoreResult<Option<Account>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE kind = ?1 AND name_key = ?2"
            ))
            .map_err(backend)?;
        stmt.query_row(params![kind.as_str(), name.key()], account_from_row)
            .optional()
            .map_err(backend)?
            .transpose()
    }

    fn accounts(
        &self,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
        kind: AccountKind,
    ) -> StoreResult<Vec<Account>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE subscription = ?1 AND kind = ?2 AND (?3 IS NULL OR group_key = ?3) ORDER BY name_key"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![sub.as_str(), kind.as_str(), group.map(|g| g.key())],
                account_from_row,
            )
            .map_err(backend)?;
        collect(rows)
    }

    fn delete_account(
        &self,
        id: i64,
        scope_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<Option<Vec<RetiredKey>>> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts, ChangeDomain::Rbac])?;
            let retired = retired_keys(tx, "WHERE a.id = ?1", params![id])?;
            let n = tx
                .execute("DELETE FROM accounts WHERE id = ?1", [id])
                .map_err(backend)?;
            if n == 0 {
                return Ok(None);
            }
            revoke_under(tx, scope_key)?;
            insert_audit(tx, audit)?;
            Ok(Some(retired))
        })
    }

    fn keys(&self, account_id: i64) -> StoreResult<Vec<StoredKey>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT slot, generation, sealed, generated_at FROM account_keys WHERE account_id = ?1",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([account_id], key_from_row)
            .map_err(backend)?;
        collect(rows)
    }

    fn rotate_key(
        &self,
        account_id: i64,
        slot: KeySlot,
        floor: u64,
        at: OffsetDateTime,
        seal: SealFn<'_>,
        audit: &AuditEvent,
    ) -> StoreResult<StoredKey> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Accounts])?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT generation FROM account_keys WHERE account_id = ?1 AND slot = ?2",
                    params![account_id, slot.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let current = current.ok_or(StoreError::NotFound)?;
            let generation = u64::try_from(current)
                .map_err(|_| corrupt("generation"))?
                .max(floor)
                .checked_add(1)
                .ok_or_else(|| corrupt("generation"))?;
            let sealed = seal(generation)?;
            tx.execute(
                "UPDATE account_keys SET generation = ?3, sealed = ?4, generated_at = ?5 WHERE account_id = ?1 AND slot = ?2",
                params![account_id, slot.as_str(), gen_to_sql(generation)?, sealed, to_micros(at)],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(StoredKey {
                slot,
                generation,
                sealed,
                generated_at: at,
            })
        })
    }

    fn audit_events(&self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT at, actor, action, target, detail FROM audit ORDER BY seq DESC LIMIT ?1",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let at: i64 = r.get(0)?;
                Ok(from_micros(at).map(|at| AuditEvent {
                    at,
                    actor: r.get(1).unwrap_or_default(),
                    action: r.get(2).unwrap_or_default(),
                    target: r.get(3).unwrap_or_default(),
                    detail: r.get(4).unwrap_or_default(),
                }))
            })
            .map_err(backend)?;
        collect(rows)
    }

    fn insert_principal(
        &self,
        p: &Principal,
        s: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            tx.execute(
                "INSERT INTO principals(client_id, display_name, created_at, owner) VALUES (?1, ?2, ?3, ?4)",
                params![p.client_id, p.display_name, to_micros(p.created_at), p.owner],
            )
            .map_err(backend)?;
            insert_secret(tx, &p.client_id, s)?;
            insert_audit(tx, audit)?;
                    Ok(())
        })
    }

    fn principal(&self, client_id: &str) -> StoreResult<Option<(Principal, Vec<PrincipalSecret>)>> {
        let conn = self.read();
        let p = conn
            .query_row(
                "SELECT client_id, display_name, created_at, owner FROM principals WHERE client_id = ?1",
                [client_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        let Some((client_id, display_name, created, owner)) = p else {
            return Ok(None);
        };
        let mut stmt = conn
            .prepare_cached("SELECT secret_id, verifier, expires_at FROM principal_secrets WHERE client_id = ?1")
            .map_err(backend)?;
        let rows = stmt
            .query_map([&client_id], |r| {
                let exp: Option<i64> = r.get(2)?;
                Ok((|| {
                    Ok(PrincipalSecret {
                        secret_id: r.get(0).map_err(backend)?,
                        verifier: r.get(1).map_err(backend)?,
                        expires_at: exp.map(from_micros).transpose()?,
                    })
                })())
            })
            .map_err(backend)?;
        let secrets = collect(rows)?;
        Ok(Some((
            Principal {
                client_id,
                display_name,
                created_at: from_micros(created)?,
                owner,
            },
            secrets,
        )))
    }

    fn principals(&self) -> StoreResult<Vec<(Principal, Vec<PrincipalSecret>)>> {
        let ids: Vec<String> = {
            let conn = self.read();
            let mut stmt = conn
                .prepare_cached("SELECT client_id FROM principals ORDER BY created_at")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend))
                .collect::<StoreResult<_>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.principal(&id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn add_principal_secret(
        &self,
        client_id: &str,
        s: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            insert_secret(tx, client_id, s)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn remove_principal_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            let n = tx
                .execute(
                    "DELETE FROM principal_secrets WHERE client_id = ?1 AND secret_id = ?2",
                    params![client_id, secret_id],
                )
                .map_err(backend)?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn replace_principal_secrets(
        &self,
        client_id: &str,
        s: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM principals WHERE client_id = ?1",
                    [client_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "DELETE FROM principal_secrets WHERE client_id = ?1",
                [client_id],
            )
            .map_err(backend)?;
            insert_secret(tx, client_id, s)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn delete_principal(&self, client_id: &str, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Identity, ChangeDomain::Rbac])?;
            let n = tx
                .execute("DELETE FROM principals WHERE client_id = ?1", [client_id])
                .map_err(backend)?;
            if n > 0 {
                tx.execute(
                    "DELETE FROM role_assignments WHERE principal_key = ?1",
                    [client_id.to_ascii_lowercase()],
                )
                .map_err(backend)?;
                // A deleted principal owns nothing (its unexpired tokens
                // must not keep managing other principals' secrets).
                tx.execute(
                    "UPDATE principals SET owner = NULL WHERE lower(owner) = ?1",
                    [client_id.to_ascii_lowercase()],
                )
                .map_err(backend)?;
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn insert_role_assignment(&self, a: &RoleAssignment, audit: &AuditEvent) -> StoreResult<()> {
        let scope_key = keyrotor_core::rbac::normalize_scope(&a.scope).ok_or(corrupt("scope"))?;
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Rbac])?;
            tx.execute(
                "INSERT INTO role_assignments(name, scope, scope_key, principal_key, principal_id, role_id, created_at, created_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    a.name,
                    a.scope,
                    scope_key,
                    a.principal_id.to_ascii_lowercase(),
                    a.principal_id,
                    a.role_id.to_ascii_lowercase(),
                    to_micros(a.created_at),
                    a.created_by
                ],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(())
        })
    }

    fn role_assignments(&self) -> StoreResult<Vec<RoleAssignment>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, scope, principal_id, role_id, created_at, created_by FROM role_assignments ORDER BY created_at, name",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let created: i64 = r.get(4)?;
                Ok((|| {
                    Ok(RoleAssignment {
                        name: r.get(0).map_err(backend)?,
                        scope: r.get(1).map_err(backend)?,
                        principal_id: r.get(2).map_err(backend)?,
                        role_id: r.get(3).map_err(backend)?,
                        created_at: from_micros(created)?,
                        created_by: r.get(5).map_err(backend)?,
                    })
                })())
            })
            .map_err(backend)?;
        collect(rows)
    }

    fn insert_vault(&self, v: &Vault, audit: &AuditEvent) -> StoreResult<i64> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute(
                "INSERT INTO vaults(uid, name_key, name, subscription, group_key, group_name, location, tags, document, \
                 soft_delete_days, purge_protection, created_at, updated_at, deleted_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL)",
                params![
                    v.uid,
                    v.name.key(),
                    v.name.as_str(),
                    v.subscription.as_str(),
                    v.resource_group.key(),
                    v.resource_group.as_str(),
                    v.location,
                    tags_to_text(&v.tags),
                    v.document,
                    v.settings.soft_delete_days,
                    v.settings.purge_protection,
                    to_micros(v.created_at),
                    to_micros(v.updated_at)
                ],
            )
            .map_err(backend)?;
            let id = tx.last_insert_rowid();
            insert_audit(tx, audit)?;
            Ok(id)
        })
    }

    fn update_vault(&self, v: &Vault, audit: &AuditEvent) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let n = tx
                .execute(
                    "UPDATE vaults SET tags = ?2, document = ?3, purge_protection = ?4, updated_at = ?5 WHERE id = ?1",
                    params![
                        v.id,
                        tags_to_text(&v.tags),
                        v.document,
                        v.settings.purge_protection,
                        to_micros(v.updated_at)
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(tx, audit)
        })
    }

    fn vault(&self, name_key: &str) -> StoreResult<Option<Vault>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VAULT_COLS} FROM vaults WHERE name_key = ?1"
            ))
            .map_err(backend)?;
        let mut rows = stmt
            .query_map([name_key], vault_from_row)
            .map_err(backend)?;
        rows.next().transpose().map_err(backend)?.transpose()
    }

    fn vaults(&self) -> StoreResult<Vec<Vault>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VAULT_COLS} FROM vaults ORDER BY name_key"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([], vault_from_row).map_err(backend)?;
        collect(rows)
    }

    fn set_vault_deleted(
        &self,
        id: i64,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let n = tx
                .execute(
                    "UPDATE vaults SET deleted_at = ?2 WHERE id = ?1",
                    params![id, deleted_at.map(to_micros)],
                )
                .map_err(backend)?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn purge_vault(&self, id: i64, audit: &AuditEvent) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute("DELETE FROM vault_objects WHERE vault_id = ?1", [id])
                .map_err(backend)?;
            tx.execute(
                "DELETE FROM vault_rotation_policies WHERE vault_id = ?1",
                [id],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM vaults WHERE id = ?1", [id])
                .map_err(backend)?;
            insert_audit(tx, audit)
        })
    }

    fn insert_vault_object(&self, o: &VaultObject, audit: &AuditEvent) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute(
                "INSERT INTO vault_objects(vault_id, collection, name_key, name, version, enabled, nbf, exp, document, sealed, \
                 created_at, updated_at, deleted_at, seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, \
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM vault_objects))",
                params![
                    o.vault_id,
                    o.collection.as_str(),
                    o.name.to_ascii_lowercase(),
                    o.name,
                    o.version,
                    o.attributes.enabled,
                    o.attributes.not_before,
                    o.attributes.expires,
                    o.document,
                    o.sealed,
                    to_micros(o.created_at),
                    to_micros(o.updated_at)
                ],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)
        })
    }

    fn vault_objects(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: Option<&str>,
    ) -> StoreResult<Vec<VaultObject>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT vault_id, collection, name, version, enabled, nbf, exp, document, sealed, created_at, updated_at, deleted_at \
                 FROM vault_objects WHERE vault_id = ?1 AND collection = ?2 AND (?3 IS NULL OR name_key = ?3) ORDER BY seq",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![vault_id, c.as_str(), name_key], |r| {
                let created: i64 = r.get(9)?;
                let updated: i64 = r.get(10)?;
                let deleted: Option<i64> = r.get(11)?;
                Ok((|| {
                    Ok(VaultObject {
                        vault_id: r.get(0).map_err(backend)?,
                        collection: c,
                        name: r.get(2).map_err(backend)?,
                        version: r.get(3).map_err(backend)?,
                        attributes: ObjectAttributes {
                            enabled: r.get(4).map_err(backend)?,
                            not_before: r.get(5).map_err(backend)?,
                            expires: r.get(6).map_err(backend)?,
                        },
                        document: r.get(7).map_err(backend)?,
                        sealed: r.get(8).map_err(backend)?,
                        created_at: from_micros(created)?,
                        updated_at: from_micros(updated)?,
                        deleted_at: deleted.map(from_micros).transpose()?,
                    })
                })())
            })
            .map_err(backend)?;
        collect(rows)
    }

    fn update_vault_object(&self, o: &VaultObject, audit: &AuditEvent) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            let n = tx
                .execute(
                    "UPDATE vault_objects SET enabled = ?5, nbf = ?6, exp = ?7, document = ?8, updated_at = ?9 \
                     WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3 AND version = ?4 AND deleted_at IS NULL",
                    params![
                        o.vault_id,
                        o.collection.as_str(),
                        o.name.to_ascii_lowercase(),
                        o.version,
                        o.attributes.enabled,
                        o.attributes.not_before,
                        o.attributes.expires,
                        o.document,
                        to_micros(o.updated_at)
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_audit(tx, audit)
        })
    }

    fn set_objects_deleted(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: &str,
        deleted_at: Option<OffsetDateTime>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute(
                "UPDATE vault_objects SET deleted_at = ?4 WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3",
                params![vault_id, c.as_str(), name_key, deleted_at.map(to_micros)],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)
        })
    }

    fn put_rotation_policy(
        &self,
        vault_id: i64,
        name_key: &str,
        policy: &str,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute(
                "INSERT INTO vault_rotation_policies(vault_id, name_key, policy, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT(vault_id, name_key) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
                params![vault_id, name_key, policy, to_micros(created_at), to_micros(updated_at)],
            )
            .map_err(backend)?;
            insert_audit(tx, audit)
        })
    }

    fn rotation_policy(
        &self,
        vault_id: i64,
        name_key: &str,
    ) -> StoreResult<Option<(String, OffsetDateTime, OffsetDateTime)>> {
        let row = self
            .read()
            .query_row(
                "SELECT policy, created_at, updated_at FROM vault_rotation_policies WHERE vault_id = ?1 AND name_key = ?2",
                params![vault_id, name_key],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
            )
            .optional()
            .map_err(backend)?;
        row.map(|(p, c, u)| Ok((p, from_micros(c)?, from_micros(u)?)))
            .transpose()
    }

    fn rotation_policies(
        &self,
    ) -> StoreResult<Vec<(i64, String, String, OffsetDateTime, OffsetDateTime)>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached(
                "SELECT vault_id, name_key, policy, created_at, updated_at FROM vault_rotation_policies ORDER BY vault_id, name_key",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let (c, u): (i64, i64) = (r.get(3)?, r.get(4)?);
                let (v, n, p): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                Ok((|| Ok((v, n, p, from_micros(c)?, from_micros(u)?)))())
            })
            .map_err(backend)?;
        collect(rows)
    }

    fn purge_objects(
        &self,
        vault_id: i64,
        c: Collection,
        name_key: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Vaults])?;
            tx.execute(
                "DELETE FROM vault_objects WHERE vault_id = ?1 AND collection = ?2 AND name_key = ?3",
                params![vault_id, c.as_str(), name_key],
            )
            .map_err(backend)?;
            if c == Collection::Keys {
                tx.execute(
                    "DELETE FROM vault_rotation_policies WHERE vault_id = ?1 AND name_key = ?2",
                    params![vault_id, name_key],
                )
                .map_err(backend)?;
            }
            insert_audit(tx, audit)
        })
    }

    fn delete_role_assignment(&self, name: &str, audit: &AuditEvent) -> StoreResult<bool> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Rbac])?;
            let n = tx
                .execute(
                    "DELETE FROM role_assignments WHERE lower(name) = lower(?1)",
                    [name],
                )
                .map_err(backend)?;
            if n > 0 {
                insert_audit(tx, audit)?;
            }
            Ok(n > 0)
        })
    }

    fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Signing])?;
            tx.execute("DELETE FROM signing_keys WHERE kid = ?1", [kid])
                .map_err(backend)?;
            Ok(())
        })
    }

    fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached("SELECT kid, sealed, created_at FROM signing_keys ORDER BY created_at")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let at: i64 = r.get(2)?;
                let kid: String = r.get(0)?;
                let sealed: Vec<u8> = r.get(1)?;
                Ok(from_micros(at).map(|created_at| StoredSigningKey {
                    kid,
                    sealed_pkcs8: sealed,
                    created_at,
                }))
            })
            .map_err(backend)?;
        collect(rows)
    }

    fn insert_signing_key(&self, k: &StoredSigningKey) -> StoreResult<()> {
        self.write_tx(|tx| {
            bump(tx, &[ChangeDomain::Signing])?;
            tx.execute(
                "INSERT INTO signing_keys(kid, sealed, created_at) VALUES (?1, ?2, ?3)",
                params![k.kid, k.sealed_pkcs8, to_micros(k.created_at)],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn apply_usage(&self, deltas: &[UsageDelta], prune_before: i64) -> StoreResult<()> {
        // Runs every second while keys are used: the statements are prepared
        // once per connection (cached), not parsed on every flush.
        self.write_tx(|tx| {
            let mut account_exists = tx
                .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")
                .map_err(backend)?;
            let mut stored_generation = tx
                .prepare_cached("SELECT generation FROM key_usage WHERE account_id = ?1 AND slot = ?2")
                .map_err(backend)?;
            let mut touch = tx
                .prepare_cached(
                    "UPDATE key_usage SET last_used = MAX(COALESCE(last_used, 0), ?3), would_reject = would_reject + ?4
                     WHERE account_id = ?1 AND slot = ?2",
                )
                .map_err(backend)?;
            let mut start_generation = tx
                .prepare_cached(
                    "INSERT INTO key_usage(account_id, slot, generation, last_used, would_reject) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(account_id, slot) DO UPDATE SET generation = excluded.generation,
                       last_used = excluded.last_used, would_reject = excluded.would_reject",
                )
                .map_err(backend)?;
            let mut forget_clients = tx
                .prepare_cached("DELETE FROM key_clients WHERE account_id = ?1 AND slot = ?2")
                .map_err(backend)?;
            let mut client_seen = tx
                .prepare_cached(
                    "INSERT INTO key_clients(account_id, slot, user_agent, address, last_seen, requests) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(account_id, slot, user_agent, address) DO UPDATE SET
                       last_seen = MAX(last_seen, excluded.last_seen), requests = requests + excluded.requests",
                )
                .map_err(backend)?;
            let mut count_hour = tx
                .prepare_cached(
                    "INSERT INTO key_usage_hourly(account_id, slot, hour, requests) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(account_id, slot, hour) DO UPDATE SET requests = requests + excluded.requests",
                )
                .map_err(backend)?;
            for d in deltas {
                let slot = d.slot.as_str();
                let generation = gen_to_sql(d.generation)?;
                let would_reject = i64::try_from(d.would_reject).unwrap_or(i64::MAX);
                if !account_exists.exists([d.account_id]).map_err(backend)? {
                    continue; // the account was deleted meanwhile
                }
                let stored: Option<i64> = stored_generation
                    .query_row(params![d.account_id, slot], |r| r.get(0))
                    .optional()
                    .map_err(backend)?;
                match stored {
                    Some(g) if g > generation => {} // late usage of a replaced key: counts only
                    Some(g) if g == generation => {
                        touch
                            .execute(params![d.account_id, slot, d.last_used, would_reject])
                            .map_err(backend)?;
                    }
                    _ => {
                        start_generation
                            .execute(params![d.account_id, slot, generation, d.last_used, would_reject])
                            .map_err(backend)?;
                        forget_clients
                            .execute(params![d.account_id, slot])
                            .map_err(backend)?;
                    }
                }
                if stored.is_none_or(|g| g <= generation) {
                    for c in &d.clients {
                        client_seen
                            .execute(params![
                                d.account_id,
                                slot,
                                c.user_agent,
                                c.address,
                                c.last_seen,
                                i64::try_from(c.requests).unwrap_or(i64::MAX)
                            ])
                            .map_err(backend)?;
                    }
                }
                for (hour, n) in &d.hourly {
                    count_hour
                        .execute(params![d.account_id, slot, hour, i64::try_from(*n).unwrap_or(i64::MAX)])
                        .map_err(backend)?;
                }
            }
            tx.prepare_cached("DELETE FROM key_usage_hourly WHERE hour < ?1")
                .and_then(|mut st| st.execute([prune_before]))
                .map_err(backend)?;
            tx.prepare_cached("DELETE FROM key_clients WHERE last_seen < ?1")
                .and_then(|mut st| st.execute([prune_before]))
                .map_err(backend)?;
            Ok(())
        })
    }

    fn usage(&self, account_id: i64) -> StoreResult<Vec<StoredUsage>> {
        let conn = self.read();
        let mut out: Vec<StoredUsage> = Vec::new();
        let mut stmt = conn
            .prepare_cached(
                "SELECT slot, generation, last_used, would_reject FROM key_usage WHERE account_id = ?1",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (slot, generation, last_used, would_reject) = row.map_err(backend)?;
            out.push(StoredUsage {
                slot: KeySlot::parse(&slot).ok_or_else(|| corrupt("key slot"))?,
                generation: u64::try_from(generation).map_err(|_| corrupt("generation"))?,
                would_reject: u64::try_from(would_reject).unwrap_or(0),
                last_used,
                hourly: Vec::new(),
                clients: Vec::new(),
            });
        }
        let mut stmt = conn
            .prepare_cached("SELECT slot, hour, requests FROM key_usage_hourly WHERE account_id = ?1 ORDER BY hour")
            .map_err(backend)?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (slot, hour, n) = row.map_err(backend)?;
            let slot = KeySlot::parse(&slot).ok_or_else(|| corrupt("key slot"))?;
            let entry = match out.iter_mut().position(|u| u.slot == slot) {
                Some(i) => &mut out[i],
                None => {
                    out.push(StoredUsage {
                        slot,
                        generation: 0,
                        would_reject: 0,
                        last_used: None,
                        hourly: Vec::new(),
                        clients: Vec::new(),
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            entry.hourly.push((hour, u64::try_from(n).unwrap_or(0)));
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT slot, user_agent, address, last_seen, requests FROM key_clients WHERE account_id = ?1 ORDER BY last_seen DESC",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([account_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (slot, user_agent, address, last_seen, n) = row.map_err(backend)?;
            let slot = KeySlot::parse(&slot).ok_or_else(|| corrupt("key slot"))?;
            if let Some(u) = out.iter_mut().find(|u| u.slot == slot) {
                u.clients.push(ClientSeen {
                    user_agent,
                    address,
                    last_seen,
                    requests: u64::try_from(n).unwrap_or(0),
                });
            }
        }
        Ok(out)
    }

    fn item_put(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        body: &str,
        mode: &PutMode,
        ts: i64,
    ) -> StoreResult<DataItem> {
        self.write_tx(|tx| {
            let current: Option<(i64, String)> = tx
                .query_row(
                    "SELECT seq, etag FROM data_items WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                    params![account_id, collection, id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let if_match = match mode {
                PutMode::Create if current.is_some() => return Err(StoreError::Conflict),
                PutMode::Replace { .. } if current.is_none() => return Err(StoreError::NotFound),
                PutMode::Replace { if_match } | PutMode::Upsert { if_match } => if_match.as_deref(),
                PutMode::Create => None,
            };
            if let (Some(want), Some((_, etag))) = (if_match, &current) {
                if want != etag && want != "*" {
                    return Err(StoreError::PreconditionFailed);
                }
            }
            if if_match.is_some_and(|w| w != "*") && current.is_none() {
                return Err(StoreError::PreconditionFailed);
            }
            let next_etag = {
                let n: i64 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(seq), 0) + 1 FROM data_items",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                format!("\"{:016x}-{:08x}\"", ts, n)
            };
            let seq = match current {
                Some((seq, _)) => {
                    tx.execute(
                        "UPDATE data_items SET body = ?2, etag = ?3, ts = ?4 WHERE seq = ?1",
                        params![seq, body, next_etag, ts],
                    )
                    .map_err(backend)?;
                    seq
                }
                None => {
                    tx.execute(
                        "INSERT INTO data_items(account_id, collection, id, body, etag, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![account_id, collection, id, body, next_etag, ts],
                    )
                    .map_err(backend)?;
                    tx.last_insert_rowid()
                }
            };
            Ok(DataItem {
                collection: collection.to_string(),
                id: id.to_string(),
                body: body.to_string(),
                etag: next_etag,
                ts,
                seq,
            })
        })
    }

    fn item(&self, account_id: i64, collection: &str, id: &str) -> StoreResult<Option<DataItem>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached("SELECT seq, body, etag, ts FROM data_items WHERE account_id = ?1 AND collection = ?2 AND id = ?3")
            .map_err(backend)?;
        stmt.query_row(params![account_id, collection, id], |r| {
            Ok(DataItem {
                collection: collection.to_string(),
                id: id.to_string(),
                seq: r.get(0)?,
                body: r.get(1)?,
                etag: r.get(2)?,
                ts: r.get(3)?,
            })
        })
        .optional()
        .map_err(backend)
    }

    fn items(&self, account_id: i64, collection: &str) -> StoreResult<Vec<DataItem>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare_cached("SELECT seq, id, body, etag, ts FROM data_items WHERE account_id = ?1 AND collection = ?2 ORDER BY seq")
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![account_id, collection], |r| {
                Ok(DataItem {
                    collection: collection.to_string(),
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    body: r.get(2)?,
                    etag: r.get(3)?,
                    ts: r.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)).collect()
    }

    fn item_delete(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> StoreResult<bool> {
        self.write_tx(|tx| {
            let etag: Option<String> = tx
                .query_row(
                    "SELECT etag FROM data_items WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                    params![account_id, collection, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(etag) = etag else {
                return Ok(false);
            };
            if if_match.is_some_and(|w| w != etag && w != "*") {
                return Err(StoreError::PreconditionFailed);
            }
            tx.execute(
                "DELETE FROM data_items WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                params![account_id, collection, id],
            )
            .map_err(backend)?;
            Ok(true)
        })
    }

    fn items_delete_under(&self, account_id: i64, prefix: &str) -> StoreResult<u64> {
        let escaped = prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let n = self
            .write()
            .execute(
                "DELETE FROM data_items WHERE account_id = ?1 AND (collection = ?2 OR collection LIKE ?3 ESCAPE '\\')",
                params![account_id, prefix, format!("{escaped}/%")],
            )
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
