//! Data-plane items (Cosmos resources, Batch pools and jobs, ...).

use super::*;

impl Keyrotor {
    pub fn item_put(
        &self,
        account: &Account,
        collection: &str,
        id: &str,
        body: &str,
        mode: &PutMode,
    ) -> Result<DataItem> {
        self.store
            .item_put(
                account.id,
                collection,
                id,
                body,
                mode,
                self.now().unix_timestamp(),
            )
            .map_err(item_error)
    }

    pub fn item(&self, account: &Account, collection: &str, id: &str) -> Result<Option<DataItem>> {
        Ok(self.store.item(account.id, collection, id)?)
    }

    pub fn items(&self, account: &Account, collection: &str) -> Result<Vec<DataItem>> {
        Ok(self.store.items(account.id, collection)?)
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
