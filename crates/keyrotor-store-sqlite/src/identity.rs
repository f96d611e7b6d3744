//! Service principals, their secrets, and the token-signing keys.

use keyrotor_core::store::{
    AuditEvent, ChangeDomain, IdentityStore, Principal, PrincipalSecret, StoreError, StoreResult,
    StoredSigningKey,
};
use rusqlite::{params, Connection};

use crate::conn::{bump, many, one, Db};
use crate::meta::insert_audit;
use crate::rows::{self, from_micros, to_micros};
use crate::SqliteStore;

/// One client secret's row (its verifier, never the secret).
fn insert_secret(conn: &Connection, client_id: &str, s: &PrincipalSecret) -> Db<()> {
    conn.prepare_cached(
        "INSERT INTO principal_secrets(client_id, secret_id, verifier, expires_at, created_at,
                                       last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        client_id,
        s.secret_id,
        s.verifier,
        s.expires_at.map(to_micros),
        to_micros(s.created_at),
        s.last_used_at.map(to_micros)
    ])?;
    Ok(())
}

/// A principal and its secrets, read on one connection.
fn principal(conn: &Connection, client_id: &str) -> Db<Option<(Principal, Vec<PrincipalSecret>)>> {
    let p = one(
        conn,
        "SELECT client_id, display_name, created_at, owner FROM principals WHERE client_id = ?1",
        [client_id],
        |r| {
            Ok(Principal {
                client_id: r.get("client_id")?,
                display_name: r.get("display_name")?,
                created_at: from_micros(r.get("created_at")?)?,
                owner: r.get("owner")?,
            })
        },
    )?;
    let Some(p) = p else {
        return Ok(None);
    };
    let secrets = many(
        conn,
        "SELECT secret_id, verifier, expires_at, created_at, last_used_at
         FROM principal_secrets WHERE client_id = ?1 ORDER BY created_at, secret_id",
        [&p.client_id],
        rows::secret,
    )?;
    Ok(Some((p, secrets)))
}

impl IdentityStore for SqliteStore {
    fn insert_principal(
        &self,
        p: &Principal,
        s: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            tx.prepare_cached(
                "INSERT INTO principals(client_id, display_name, created_at, owner)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                p.client_id,
                p.display_name,
                to_micros(p.created_at),
                p.owner
            ])?;
            insert_secret(tx, &p.client_id, s)?;
            insert_audit(tx, audit)
        })
    }

    fn principal(&self, client_id: &str) -> StoreResult<Option<(Principal, Vec<PrincipalSecret>)>> {
        self.pool.read(|conn| principal(conn, client_id))
    }

    fn principals(&self) -> StoreResult<Vec<(Principal, Vec<PrincipalSecret>)>> {
        self.pool.read(|conn| {
            let ids = many(
                conn,
                "SELECT client_id FROM principals ORDER BY created_at",
                [],
                |r| Ok(r.get::<_, String>("client_id")?),
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(principal(conn, &id)?);
            }
            Ok(out)
        })
    }

    fn add_principal_secret(
        &self,
        client_id: &str,
        s: &PrincipalSecret,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            insert_secret(tx, client_id, s)?;
            insert_audit(tx, audit)
        })
    }

    fn remove_principal_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            let n = tx
                .prepare_cached(
                    "DELETE FROM principal_secrets WHERE client_id = ?1 AND secret_id = ?2",
                )?
                .execute(params![client_id, secret_id])?;
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
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Identity])?;
            if !tx
                .prepare_cached("SELECT 1 FROM principals WHERE client_id = ?1")?
                .exists([client_id])?
            {
                return Err(StoreError::NotFound.into());
            }
            tx.execute(
                "DELETE FROM principal_secrets WHERE client_id = ?1",
                [client_id],
            )?;
            insert_secret(tx, client_id, s)?;
            insert_audit(tx, audit)
        })
    }

    fn record_secret_use(
        &self,
        client_id: &str,
        secret_id: &str,
        at: time::OffsetDateTime,
    ) -> StoreResult<()> {
        // No change sequence moves: nothing is cached on a secret's last use.
        self.pool.write(|tx| {
            tx.prepare_cached(
                "UPDATE principal_secrets SET last_used_at = ?3
                 WHERE client_id = ?1 AND secret_id = ?2
                   AND (last_used_at IS NULL OR last_used_at < ?3)",
            )?
            .execute(params![client_id, secret_id, to_micros(at)])?;
            Ok(())
        })
    }

    fn delete_principal(&self, client_id: &str, audit: &AuditEvent) -> StoreResult<bool> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Identity, ChangeDomain::Rbac])?;
            if tx.execute("DELETE FROM principals WHERE client_id = ?1", [client_id])? == 0 {
                return Ok(false);
            }
            let key = client_id.to_ascii_lowercase();
            tx.execute(
                "DELETE FROM role_assignments WHERE principal_key = ?1",
                [&key],
            )?;
            // A deleted principal owns nothing (its unexpired tokens must not
            // keep managing other principals' secrets).
            tx.execute(
                "UPDATE principals SET owner = NULL WHERE lower(owner) = ?1",
                [&key],
            )?;
            insert_audit(tx, audit)?;
            Ok(true)
        })
    }

    fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        self.pool.read(|conn| {
            many(
                conn,
                "SELECT kid, sealed, created_at FROM signing_keys ORDER BY created_at",
                [],
                |r| {
                    Ok(StoredSigningKey {
                        kid: r.get("kid")?,
                        sealed_pkcs8: r.get("sealed")?,
                        created_at: from_micros(r.get("created_at")?)?,
                    })
                },
            )
        })
    }

    fn insert_signing_key(&self, k: &StoredSigningKey) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Signing])?;
            tx.execute(
                "INSERT INTO signing_keys(kid, sealed, created_at) VALUES (?1, ?2, ?3)",
                params![k.kid, k.sealed_pkcs8, to_micros(k.created_at)],
            )?;
            Ok(())
        })
    }

    fn delete_signing_key(&self, kid: &str) -> StoreResult<()> {
        self.pool.write(|tx| {
            bump(tx, &[ChangeDomain::Signing])?;
            tx.execute("DELETE FROM signing_keys WHERE kid = ?1", [kid])?;
            Ok(())
        })
    }
}
