//! Account keys: metadata, values, and regeneration.

use super::*;

impl Keyrotor {
    /// Metadata of every key slot of the account.
    pub fn key_info(&self, account: &Account) -> Result<Vec<KeyInfo>> {
        let mut info: Vec<KeyInfo> = self
            .store
            .keys(account.id)?
            .into_iter()
            .map(|k| KeyInfo {
                slot: k.slot,
                generation: k.generation,
                generated_at: k.generated_at,
            })
            .collect();
        info.sort_by_key(|k| k.slot);
        Ok(info)
    }

    /// Every key of the account, decrypted, in slot order.
    pub fn list_keys(&self, account: &Account) -> Result<Vec<AccountKey>> {
        let mut keys = self
            .store
            .keys(account.id)?
            .into_iter()
            .map(|k| {
                let value = self.open_key(account, &k)?;
                Ok(AccountKey {
                    slot: k.slot,
                    value,
                    generation: k.generation,
                    generated_at: k.generated_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        keys.sort_by_key(|k| k.slot);
        Ok(keys)
    }

    /// Replaces the value of one key slot. The other slots are untouched; the
    /// old value is gone once this returns.
    pub fn regenerate_key(
        &self,
        actor: &Actor,
        account: &Account,
        slot: KeySlot,
    ) -> Result<AccountKey> {
        if !account.kind.has_slot(slot) {
            return Err(Error::NoSuchKey {
                kind: account.kind,
                slot,
            });
        }
        let audit = self.audit(
            actor,
            "key.regenerate",
            account_target(account),
            slot.as_str().to_string(),
        );
        let not_found = || Error::AccountNotFound {
            kind: account.kind,
            name: account.name.to_string(),
        };
        // Compare-and-set on the slot's generation: a regeneration that
        // loses a race to another (on this node or another) reads the new
        // state and goes again, so each acknowledged call replaced a value.
        let mut attempts: u32 = 0;
        let stored = loop {
            attempts += 1;
            let current = self
                .store
                .keys(account.id)?
                .into_iter()
                .find(|k| k.slot == slot)
                .ok_or_else(not_found)?;
            let current_value = self.open_key(account, &current)?;
            // Above anything the ledger knows: after a restore, the slot's
            // next generation is one never used before.
            let floor = self.ledger.latest(&account.uid, slot).unwrap_or(0);
            let generation = current
                .generation
                .max(floor)
                .checked_add(1)
                .ok_or_else(|| Error::Storage(StoreError::Corrupt("key generation".into())))?;
            // A fresh value never equals the value it replaces.
            let value = loop {
                let v =
                    keyrotor_crypto::generate_account_key(account.kind).map_err(Error::Crypto)?;
                if v != current_value {
                    break v;
                }
            };
            let (dek_id, sealed) = self.seal_current(
                account,
                |dek| envelope::key_aad(&account.uid, dek, slot, generation),
                value.expose().as_bytes(),
            )?;
            let key = StoredKey {
                slot,
                generation,
                dek_id,
                sealed,
                generated_at: self.now(),
            };
            match self
                .store
                .rotate_key(account.id, current.generation, &key, &audit)
            {
                Ok(()) => break key,
                // Another regeneration won (so the system progresses); back
                // off a little, growing, so that many racing writers do
                // not keep colliding. Bounded: after about two seconds of
                // losing, the answer is 503 and the caller retries.
                Err(StoreError::PreconditionFailed) if attempts < 64 => {
                    std::thread::sleep(std::time::Duration::from_micros(
                        100 * u64::from(attempts.min(32)),
                    ));
                    continue;
                }
                Err(StoreError::PreconditionFailed) => {
                    return Err(Error::Unavailable(StoreError::Unavailable(
                        "the key kept changing under concurrent regenerations".into(),
                    )))
                }
                Err(StoreError::NotFound) => return Err(not_found()),
                Err(e) => return Err(e.into()),
            }
        };
        // Before the caller answers: the very next request sees the new key.
        self.bump();
        tracing::info!(account = %account_target(account), slot = %slot, generation = stored.generation, "key regenerated");
        // Acknowledged only once the ledger knows it (an unacknowledged
        // regeneration that stands is what a crash after the commit leaves
        // too: the caller sees an error and the new key is in listKeys).
        self.ledger
            .record(&[ledger::LedgerEntry {
                account_uid: account.uid.clone(),
                slot,
                generation: stored.generation,
            }])
            .map_err(|e| {
                tracing::error!(account = %account_target(account), slot = %slot, error = %e, "key regenerated but not recorded in the key ledger");
                Error::Ledger(e)
            })?;
        // The value this transaction wrote, opened from the row it stored:
        // never a read-back, which a concurrent regeneration of the same
        // slot could have replaced already.
        let value = self.open_key(account, &stored)?;
        Ok(AccountKey {
            slot,
            value,
            generation: stored.generation,
            generated_at: stored.generated_at,
        })
    }

    /// A stored key's value, opened under the DEK that sealed it (bound to
    /// account, slot and generation).
    fn open_key(&self, account: &Account, k: &StoredKey) -> Result<Secret> {
        let bytes = self.open_record(
            account,
            &k.dek_id,
            &envelope::key_aad(&account.uid, &k.dek_id, k.slot, k.generation),
            &k.sealed,
        )?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::KeyMaterialUnavailable(keyrotor_crypto::Error::Malformed))?;
        Ok(Secret::new(text.to_string()))
    }
}
