//! Resource groups.

use super::*;

impl Keyrotor {
    pub(crate) fn check_subscription(&self, dir: &Directory, sub: &SubscriptionId) -> Result<()> {
        if &dir.subscription_id == sub {
            Ok(())
        } else {
            Err(Error::SubscriptionNotFound(sub.to_string()))
        }
    }

    /// Creates or updates a group; returns it and whether it was created.
    pub fn put_group(
        &self,
        dir: &Directory,
        actor: &Actor,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
        location: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(ResourceGroup, bool)> {
        self.check_subscription(dir, sub)?;
        let location = normalize_location(location)?;
        let candidate = ResourceGroup {
            subscription: sub.clone(),
            name: name.clone(),
            location,
            tags,
            created_at: self.now(),
        };
        let audit = self.audit(actor, "group.put", name.to_string(), String::new());
        // One upsert: the store keeps the first spelling, the location and
        // the creation time of a group that exists, as ARM does.
        let (group, created) = self.store.put_group(&candidate, &audit)?;
        self.bump();
        Ok((group, created))
    }

    pub fn group(
        &self,
        dir: &Directory,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> Result<ResourceGroup> {
        self.check_subscription(dir, sub)?;
        self.store
            .group(sub, name)?
            .ok_or_else(|| Error::GroupNotFound(name.to_string()))
    }

    pub fn groups(&self, dir: &Directory, sub: &SubscriptionId) -> Result<Vec<ResourceGroup>> {
        self.check_subscription(dir, sub)?;
        Ok(self.store.groups(sub)?)
    }

    /// Deletes a group and every account in it.
    pub fn delete_group(
        &self,
        dir: &Directory,
        actor: &Actor,
        sub: &SubscriptionId,
        name: &ResourceGroupName,
    ) -> Result<usize> {
        self.check_subscription(dir, sub)?;
        let audit = self.audit(actor, "group.delete", name.to_string(), String::new());
        let scope = revocation_scope(&rbac::group_scope(sub, name))?;
        let retired = self
            .store
            .delete_group(sub, name, &scope, &audit)?
            .ok_or_else(|| Error::GroupNotFound(name.to_string()))?;
        self.committed(&[
            ChangeDomain::Accounts,
            ChangeDomain::Rbac,
            ChangeDomain::Deks,
        ]);
        self.ledger_retire(&retired)?;
        let accounts: std::collections::BTreeSet<&str> =
            retired.iter().map(|k| k.account_uid.as_str()).collect();
        Ok(accounts.len())
    }
}
