//! Data-plane items (Cosmos resources, Batch pools and jobs, ...): sealed
//! under the account's current data key when written, opened under the one
//! that sealed them when read.

use super::*;
use store::{Sealed, StoredItem};

impl Keyrotor {
    pub fn item_put(
        &self,
        account: &Account,
        collection: &str,
        id: &str,
        body: &str,
        mode: &PutMode,
    ) -> Result<DataItem> {
        let (dek_id, blob) = self.seal_current(
            account,
            |dek| envelope::item_aad(&account.uid, dek, collection, id),
            body.as_bytes(),
        )?;
        let v = self
            .store
            .item_put(
                account.id,
                collection,
                id,
                Sealed {
                    dek_id: &dek_id,
                    blob: &blob,
                },
                mode,
                self.now().unix_timestamp(),
            )
            .map_err(item_error)?;
        Ok(DataItem {
            collection: collection.to_string(),
            id: id.to_string(),
            body: body.to_string(),
            etag: v.etag,
            ts: v.ts,
            seq: v.seq,
        })
    }

    pub fn item(&self, account: &Account, collection: &str, id: &str) -> Result<Option<DataItem>> {
        self.store
            .item(account.id, collection, id)?
            .map(|i| self.open_item(account, i))
            .transpose()
    }

    pub fn items(&self, account: &Account, collection: &str) -> Result<Vec<DataItem>> {
        self.store
            .items(account.id, collection)?
            .into_iter()
            .map(|i| self.open_item(account, i))
            .collect()
    }

    /// A stored item's body, opened under the DEK that sealed it (bound to
    /// account, collection and id).
    fn open_item(&self, account: &Account, i: StoredItem) -> Result<DataItem> {
        let bytes = self.open_body(
            account,
            &i.dek_id,
            &envelope::item_aad(&account.uid, &i.dek_id, &i.collection, &i.id),
            i.sealed,
        )?;
        let body = String::from_utf8(bytes)
            .map_err(|_| Error::Storage(StoreError::Corrupt("an item body is not text".into())))?;
        Ok(DataItem {
            collection: i.collection,
            id: i.id,
            body,
            etag: i.etag,
            ts: i.ts,
            seq: i.seq,
        })
    }

    pub fn item_delete(
        &self,
        account: &Account,
        collection: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<bool> {
        self.store
            .item_delete(account.id, collection, id, if_match)
            .map_err(item_error)
    }

    pub fn items_delete_under(&self, account: &Account, prefix: &str) -> Result<u64> {
        Ok(self.store.items_delete_under(account.id, prefix)?)
    }

    pub fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        Ok(self.store.audit_events(limit)?)
    }
}
