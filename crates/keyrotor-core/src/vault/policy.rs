//! Key rotation policies and the runner that rotates due keys.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    AfterCreate(IsoDuration),
    BeforeExpiry(IsoDuration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    Rotate,
    Notify,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeAction {
    pub trigger: Trigger,
    pub action: ActionType,
}

/// A key's rotation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    pub actions: Vec<LifetimeAction>,
    /// Expiry of each new version, from its creation.
    pub expiry: Option<IsoDuration>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl RotationPolicy {
    /// Line format: `rotate after P30D`, `notify before P7D`, `expiry P90D`.
    pub(crate) fn to_text(&self) -> String {
        let mut out: Vec<String> = self
            .actions
            .iter()
            .map(|a| {
                let act = match a.action {
                    ActionType::Rotate => "rotate",
                    ActionType::Notify => "notify",
                };
                match a.trigger {
                    Trigger::AfterCreate(d) => format!("{act} after {d}"),
                    Trigger::BeforeExpiry(d) => format!("{act} before {d}"),
                }
            })
            .collect();
        if let Some(e) = self.expiry {
            out.push(format!("expiry {e}"));
        }
        out.join("\n")
    }

    pub(crate) fn from_text(
        s: &str,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Option<Self> {
        let mut p = RotationPolicy {
            actions: Vec::new(),
            expiry: None,
            created_at,
            updated_at,
        };
        for line in s.lines().filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["expiry", d] => p.expiry = Some(IsoDuration::parse(d)?),
                [act, when, d] => {
                    let action = match *act {
                        "rotate" => ActionType::Rotate,
                        "notify" => ActionType::Notify,
                        _ => return None,
                    };
                    let d = IsoDuration::parse(d)?;
                    let trigger = match *when {
                        "after" => Trigger::AfterCreate(d),
                        "before" => Trigger::BeforeExpiry(d),
                        _ => return None,
                    };
                    p.actions.push(LifetimeAction { trigger, action });
                }
                _ => return None,
            }
        }
        Some(p)
    }
}

impl Keyrotor {
    /// The key's rotation policy, if one was set.
    pub fn rotation_policy(&self, vault: &Vault, name: &str) -> Result<Option<RotationPolicy>> {
        match self
            .store
            .rotation_policy(vault.id, &name.to_ascii_lowercase())?
        {
            None => Ok(None),
            Some(p) => RotationPolicy::from_text(&p.text, p.created_at, p.updated_at)
                .map(Some)
                .ok_or_else(|| {
                    Error::Storage(crate::StoreError::Corrupt("rotation policy".into()))
                }),
        }
    }

    /// Sets a live key's rotation policy.
    pub fn set_rotation_policy(
        &self,
        actor: &Actor,
        vault: &Vault,
        name: &str,
        actions: Vec<LifetimeAction>,
        expiry: Option<IsoDuration>,
    ) -> Result<RotationPolicy> {
        let key = self.object(vault, Collection::Keys, name, None)?;
        if let Some(e) = expiry {
            if !e.at_least_days(28) {
                return Err(Error::InvalidInput(
                    "expiryTime must be at least 28 days (P28D)".into(),
                ));
            }
        }
        for a in &actions {
            match a.trigger {
                Trigger::AfterCreate(d) if !d.at_least_days(7) => {
                    return Err(Error::InvalidInput(
                        "timeAfterCreate must be at least 7 days (P7D)".into(),
                    ))
                }
                Trigger::BeforeExpiry(_) if expiry.is_none() => {
                    return Err(Error::InvalidInput(
                        "timeBeforeExpiry needs attributes.expiryTime".into(),
                    ))
                }
                _ => {}
            }
        }
        if actions
            .iter()
            .filter(|a| a.action == ActionType::Rotate)
            .count()
            > 1
        {
            return Err(Error::InvalidInput(
                "a policy has at most one Rotate action".into(),
            ));
        }
        let now = self.now();
        let mut p = RotationPolicy {
            actions,
            expiry,
            created_at: now,
            updated_at: now,
        };
        let audit = self.audit(
            actor,
            "key.rotationPolicy.set",
            format!("{}/keys/{}", vault.name, key.name),
            p.to_text(),
        );
        // The first time sets the creation time; the store keeps it after.
        p.created_at = self.store.put_rotation_policy(
            vault.id,
            &name.to_ascii_lowercase(),
            &p.to_text(),
            now,
            &audit,
        )?;
        Ok(p)
    }

    /// Rotates every key whose policy says it is due at `at` (the real clock
    /// in production; tests may pass a later time to run a year in a
    /// second). Returns (vault, key, new version) per rotation; each has an
    /// audit record `key.rotate.policy`.
    pub fn run_rotation_policies(
        &self,
        at: OffsetDateTime,
    ) -> Result<Vec<(String, String, String)>> {
        let vaults: BTreeMap<i64, Vault> = self
            .store
            .vaults()?
            .into_iter()
            .filter(|v| v.deleted_at.is_none())
            .map(|v| (v.id, v))
            .collect();
        let actor = Actor::system();
        let mut done = Vec::new();
        for stored in self.store.rotation_policies()? {
            let name_key = stored.name_key;
            let (Some(vault), Some(policy)) = (
                vaults.get(&stored.vault_id),
                RotationPolicy::from_text(&stored.text, stored.created_at, stored.updated_at),
            ) else {
                continue;
            };
            let Ok(latest) = self.object(vault, Collection::Keys, &name_key, None) else {
                continue;
            };
            // A trigger whose time is outside the calendar is never due
            // (an expiry near year -9999 must not stop the runner).
            let due = policy.actions.iter().any(|a| {
                a.action == ActionType::Rotate
                    && match a.trigger {
                        Trigger::AfterCreate(d) => {
                            d.after(latest.created_at).is_some_and(|t| t <= at)
                        }
                        Trigger::BeforeExpiry(d) => latest.attributes.expires.is_some_and(|e| {
                            OffsetDateTime::from_unix_timestamp(e)
                                .ok()
                                .and_then(|exp| d.before(exp))
                                .is_some_and(|t| t <= at)
                        }),
                    }
            });
            if due {
                // One key that cannot rotate does not hold up the others.
                // Only while the version it found due is still the latest:
                // two runners (two processes on one database) add one
                // version, not two.
                match self.rotate_key_at(&actor, vault, latest, at, "key.rotate.policy", true) {
                    Ok(o) => done.push((vault.name.to_string(), o.name, o.version)),
                    Err(Error::ObjectChanged(..)) => {
                        tracing::debug!(vault = %vault.name, key = %name_key, "rotated meanwhile by another runner");
                    }
                    Err(e @ (Error::Unavailable(_) | Error::Storage(_))) => return Err(e),
                    Err(e) => {
                        tracing::warn!(vault = %vault.name, key = %name_key, error = %e, "rotation policy could not rotate this key; the others go on");
                    }
                }
            }
        }
        Ok(done)
    }
}
