//! Backup and restore of an object: every version, sealed into one blob.

use super::*;

const BACKUP_CONTEXT: &[u8] = b"keyrotor/vault-backup/v1";

/// Length-prefixed fields of a backup (inside the sealed blob).
#[derive(Default)]
struct Codec(Vec<u8>);

impl Codec {
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u64).to_be_bytes());
        self.0.extend_from_slice(b);
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn opt(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.0.push(1);
                self.i64(x);
            }
            None => self.0.push(0),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    pub(crate) fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    pub(crate) fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n).map(<[u8]>::to_vec)
    }
    pub(crate) fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
    pub(crate) fn opt(&mut self) -> Option<Option<i64>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.i64()?)),
            _ => None,
        }
    }
}

impl Keyrotor {
    /// A backup of every version of a live object: one blob sealed under the
    /// root key, so only this service (or one sharing its root key) can
    /// restore it, into any of its vaults.
    pub fn backup_object(&self, vault: &Vault, c: Collection, name: &str) -> Result<Vec<u8>> {
        let versions = self.live_versions(vault, c, name)?;
        let mut w = Codec::default();
        w.str(c.as_str());
        w.str(&versions[0].name);
        let policy = match c {
            Collection::Keys => self.rotation_policy(vault, name)?.map(|p| p.to_text()),
            Collection::Secrets => None,
        };
        w.str(policy.as_deref().unwrap_or(""));
        w.u64(versions.len() as u64);
        for o in &versions {
            let plain = self.unseal(vault, o)?;
            w.str(&o.version);
            w.i64(o.attributes.enabled.map_or(-1, i64::from));
            w.opt(o.attributes.not_before);
            w.opt(o.attributes.expires);
            w.str(&o.document);
            w.i64(o.created_at.unix_timestamp());
            w.i64(o.updated_at.unix_timestamp());
            w.bytes(&plain);
        }
        let plain = Zeroizing::new(w.0);
        self.root
            .seal(BACKUP_CONTEXT, &plain)
            .map_err(Error::Crypto)
    }

    /// Restores a backup into `vault`; the name must be free there (no live
    /// or deleted object of that name).
    pub fn restore_object(
        &self,
        actor: &Actor,
        vault: &Vault,
        c: Collection,
        blob: &[u8],
    ) -> Result<VaultObject> {
        let bad = || {
            Error::InvalidInput(
                "the backup blob is malformed or was made by another service".into(),
            )
        };
        let plain = self.root.open(BACKUP_CONTEXT, blob).map_err(|_| bad())?;
        let mut r = Reader(&plain);
        if r.str().ok_or_else(bad)? != c.as_str() {
            return Err(Error::InvalidInput(format!(
                "the backup is not one of {}",
                c.as_str()
            )));
        }
        let name = r.str().ok_or_else(bad)?;
        check_object_name(&name)?;
        let policy = r.str().ok_or_else(bad)?;
        if !self.object_versions(vault, c, &name)?.is_empty() {
            return Err(Error::ObjectConflict(c, name));
        }
        let n = r.u64().ok_or_else(bad)?;
        let mut last = None;
        for _ in 0..n.min(10_000) {
            let version = r.str().ok_or_else(bad)?;
            let enabled = match r.i64().ok_or_else(bad)? {
                -1 => None,
                v => Some(v != 0),
            };
            let not_before = r.opt().ok_or_else(bad)?;
            let expires = r.opt().ok_or_else(bad)?;
            let document = r.str().ok_or_else(bad)?;
            let created =
                OffsetDateTime::from_unix_timestamp(r.i64().ok_or_else(bad)?).map_err(|_| bad())?;
            let updated =
                OffsetDateTime::from_unix_timestamp(r.i64().ok_or_else(bad)?).map_err(|_| bad())?;
            let material = Zeroizing::new(r.bytes().ok_or_else(bad)?);
            let sealed = self
                .root
                .seal(&object_context(vault, c, &name, &version), &material)
                .map_err(Error::Crypto)?;
            let o = VaultObject {
                vault_id: vault.id,
                collection: c,
                name: name.clone(),
                version,
                attributes: ObjectAttributes {
                    enabled,
                    not_before,
                    expires,
                },
                document,
                sealed,
                created_at: created,
                updated_at: updated,
                deleted_at: None,
            };
            let audit = self.audit(
                actor,
                "object.restore",
                format!("{}/{}/{}/{}", vault.name, c.as_str(), o.name, o.version),
                String::new(),
            );
            // Each version after the one before: a concurrent write to the
            // same name stops the restore instead of interleaving with it.
            let latest = LatestVersion::Is(last.as_ref().map(|l: &VaultObject| l.version.as_str()));
            self.store
                .insert_vault_object(&o, latest, &audit)
                .map_err(|e| match e {
                    StoreError::Conflict | StoreError::PreconditionFailed => {
                        Error::ObjectChanged(c, o.name.clone())
                    }
                    other => other.into(),
                })?;
            last = Some(o);
        }
        if !policy.is_empty() {
            let now = self.now();
            let audit = self.audit(
                actor,
                "key.rotationPolicy.restore",
                format!("{}/keys/{name}", vault.name),
                policy.clone(),
            );
            self.store.put_rotation_policy(
                vault.id,
                &name.to_ascii_lowercase(),
                &policy,
                now,
                &audit,
            )?;
        }
        last.ok_or_else(bad)
    }
}
