//! Data-plane items: bodies sealed by the core (with the id of the data key
//! that sealed them), an ETag and a store-wide increasing number.

use keyrotor_core::store::{
    ItemStore, ItemVersion, PutMode, Sealed, StoreError, StoreResult, StoredItem,
};
use rusqlite::{params, OptionalExtension, Row};

use crate::conn::{many, next_seq, one, under, Db};
use crate::SqliteStore;

fn item(collection: &str, r: &Row<'_>) -> Db<StoredItem> {
    Ok(StoredItem {
        collection: collection.to_string(),
        id: r.get("id")?,
        dek_id: r.get("dek_id")?,
        sealed: r.get("sealed")?,
        etag: r.get("etag")?,
        ts: r.get("ts")?,
        seq: r.get("seq")?,
    })
}

impl ItemStore for SqliteStore {
    fn item_put(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        body: Sealed<'_>,
        mode: &PutMode,
        ts: i64,
    ) -> StoreResult<ItemVersion> {
        self.pool.write(|tx| {
            let current: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT seq, etag FROM data_items
                     WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                )?
                .query_row(params![account_id, collection, id], |r| {
                    Ok((r.get("seq")?, r.get("etag")?))
                })
                .optional()?;
            let if_match = match mode {
                PutMode::Create if current.is_some() => return Err(StoreError::Conflict.into()),
                PutMode::Replace { .. } if current.is_none() => {
                    return Err(StoreError::NotFound.into())
                }
                PutMode::Replace { if_match } | PutMode::Upsert { if_match } => if_match.as_deref(),
                PutMode::Create => None,
            };
            if let Some(want) = if_match.filter(|w| *w != "*") {
                if current.as_ref().is_none_or(|(_, etag)| etag != want) {
                    return Err(StoreError::PreconditionFailed.into());
                }
            }
            let etag = format!("\"{:016x}-{:08x}\"", ts, next_seq(tx, "item_etags")?);
            let seq = match current {
                Some((seq, _)) => {
                    tx.prepare_cached(
                        "UPDATE data_items SET dek_id = ?2, sealed = ?3, etag = ?4, ts = ?5
                         WHERE seq = ?1",
                    )?
                    .execute(params![seq, body.dek_id, body.blob, etag, ts])?;
                    seq
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO data_items(account_id, collection, id, dek_id, sealed, etag, ts)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![account_id, collection, id, body.dek_id, body.blob, etag, ts])?;
                    tx.last_insert_rowid()
                }
            };
            Ok(ItemVersion { etag, ts, seq })
        })
    }

    fn item(&self, account_id: i64, collection: &str, id: &str) -> StoreResult<Option<StoredItem>> {
        self.pool.read(|conn| {
            one(
                conn,
                "SELECT seq, id, dek_id, sealed, etag, ts FROM data_items
                     WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                params![account_id, collection, id],
                |r| item(collection, r),
            )
        })
    }

    fn items(&self, account_id: i64, collection: &str) -> StoreResult<Vec<StoredItem>> {
        self.pool.read(|conn| {
            many(
                conn,
                "SELECT seq, id, dek_id, sealed, etag, ts FROM data_items
                     WHERE account_id = ?1 AND collection = ?2 ORDER BY seq",
                params![account_id, collection],
                |r| item(collection, r),
            )
        })
    }

    fn item_delete(
        &self,
        account_id: i64,
        collection: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> StoreResult<bool> {
        self.pool.write(|tx| {
            let etag: Option<String> = tx
                .prepare_cached(
                    "SELECT etag FROM data_items
                     WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
                )?
                .query_row(params![account_id, collection, id], |r| r.get("etag"))
                .optional()?;
            let Some(etag) = etag else {
                return Ok(false);
            };
            if if_match.is_some_and(|w| w != etag && w != "*") {
                return Err(StoreError::PreconditionFailed.into());
            }
            tx.prepare_cached(
                "DELETE FROM data_items WHERE account_id = ?1 AND collection = ?2 AND id = ?3",
            )?
            .execute(params![account_id, collection, id])?;
            Ok(true)
        })
    }

    fn items_delete_under(&self, account_id: i64, prefix: &str) -> StoreResult<u64> {
        self.pool.write(|tx| {
            let n = tx.execute(
                "DELETE FROM data_items
                 WHERE account_id = ?1 AND (collection = ?2 OR collection LIKE ?3 ESCAPE '\\')",
                params![account_id, prefix, under(prefix)],
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
