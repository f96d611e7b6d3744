//! Accounts: create, update, read, delete.

use super::*;

impl Keyrotor {
    /// Creates an account with freshly generated keys, or updates the
    /// properties of an existing one (keys untouched). Returns whether it was created.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the ARM PUT parameters one to one"
    )]
    pub fn put_account(
        &self,
        dir: &Directory,
        actor: &Actor,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
        spec: AccountSpec,
    ) -> Result<(Account, bool)> {
        self.check_subscription(dir, sub)?;
        let spec = AccountSpec {
            location: normalize_location(&spec.location)?,
            ..spec
        };
        let group = self.group(dir, sub, group)?;
        // Read, then a conditional write; a write that finds the account
        // created or deleted meanwhile (by a concurrent PUT or DELETE, on
        // this node or another) reads again, so two identical PUTs both
        // succeed, one creating and one updating.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let retry = attempts < 4;
            if let Some(existing) = self.store.account(kind, name)? {
                if existing.subscription != *sub
                    || existing.resource_group.key() != group.name.key()
                {
                    return Err(Error::NameTaken {
                        kind,
                        name: name.to_string(),
                    });
                }
                let audit = self.audit(
                    actor,
                    "account.update",
                    account_target(&existing),
                    String::new(),
                );
                match self
                    .store
                    .update_account(existing.id, &spec, self.now(), &audit)
                {
                    Ok(()) => {
                        self.bump();
                        let updated = self.account_in(dir, kind, sub, &group.name, name)?;
                        return Ok((updated, false));
                    }
                    Err(StoreError::NotFound) if retry => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let account = self.new_account(kind, sub, &group.name, name, spec.clone())?;
            let (dek, dek_key) = self.new_dek(&account)?;
            let keys = self.initial_keys(&account, &dek.id, &dek_key)?;
            let audit = self.audit(
                actor,
                "account.create",
                account_target(&account),
                String::new(),
            );
            match self.store.insert_account(&account, &dek, &keys, &audit) {
                Ok(a) => {
                    self.bump();
                    return Ok((a, true));
                }
                Err(StoreError::Conflict) if retry => continue,
                Err(StoreError::Conflict) => {
                    return Err(Error::NameTaken {
                        kind,
                        name: name.to_string(),
                    })
                }
                Err(StoreError::NotFound) => {
                    return Err(Error::GroupNotFound(group.name.to_string()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn new_account(
        &self,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
        spec: AccountSpec,
    ) -> Result<Account> {
        let now = self.now();
        Ok(Account {
            id: 0,
            uid: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
            kind,
            subscription: sub.clone(),
            resource_group: group.clone(),
            name: name.clone(),
            location: spec.location,
            tags: spec.tags,
            document: spec.document,
            settings: spec.settings,
            created_at: now,
            updated_at: now,
        })
    }

    /// Generation 1 of every slot of a new account, sealed under its first
    /// DEK `key` (id `dek_id`), bound to it.
    pub(crate) fn initial_keys(
        &self,
        account: &Account,
        dek_id: &str,
        key: &keyrotor_crypto::envelope::DataKey,
    ) -> Result<Vec<StoredKey>> {
        let mut keys = Vec::new();
        for &slot in account.kind.slots() {
            let value =
                keyrotor_crypto::generate_account_key(account.kind).map_err(Error::Crypto)?;
            let sealed = key
                .seal(
                    &envelope::key_aad(&account.uid, dek_id, slot, 1),
                    value.expose().as_bytes(),
                )
                .map_err(Error::Crypto)?;
            keys.push(StoredKey {
                slot,
                generation: 1,
                dek_id: dek_id.to_string(),
                sealed,
                generated_at: account.created_at,
            });
        }
        Ok(keys)
    }

    /// The account `name` of `kind` in the given group.
    pub fn account_in(
        &self,
        dir: &Directory,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: &ResourceGroupName,
        name: &AccountName,
    ) -> Result<Account> {
        self.check_subscription(dir, sub)?;
        let not_found = || Error::AccountNotFound {
            kind,
            name: name.to_string(),
        };
        match self.store.account(kind, name)? {
            Some(a) if a.subscription == *sub && a.resource_group.key() == group.key() => Ok(a),
            // As ARM answers: a group that does not exist is named as such
            // (a mistyped `-g` reads "resource group not found").
            _ => {
                self.group(dir, sub, group)?;
                Err(not_found())
            }
        }
    }

    /// Looks an account up by its globally unique name (data-plane routing).
    pub fn account_by_name(
        &self,
        kind: AccountKind,
        name: &AccountName,
    ) -> Result<Option<Account>> {
        Ok(self.store.account(kind, name)?)
    }

    pub fn accounts(
        &self,
        dir: &Directory,
        kind: AccountKind,
        sub: &SubscriptionId,
        group: Option<&ResourceGroupName>,
    ) -> Result<Vec<Account>> {
        self.check_subscription(dir, sub)?;
        if let Some(g) = group {
            self.group(dir, sub, g)?;
        }
        Ok(self.store.accounts(sub, group, kind)?)
    }

    pub fn delete_account(&self, actor: &Actor, account: &Account) -> Result<bool> {
        let audit = self.audit(
            actor,
            "account.delete",
            account_target(account),
            String::new(),
        );
        let scope = revocation_scope(&rbac::account_scope(
            account.kind,
            &account.subscription,
            &account.resource_group,
            &account.name,
        ))?;
        let retired = self.store.delete_account(account.id, &scope, &audit)?;
        self.committed(&[
            ChangeDomain::Accounts,
            ChangeDomain::Rbac,
            ChangeDomain::Deks,
        ]);
        if let Some(keys) = &retired {
            self.ledger_retire(keys)?;
        }
        Ok(retired.is_some())
    }
}
