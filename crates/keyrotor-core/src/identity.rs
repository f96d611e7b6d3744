//! Bootstrap, service principals and their secrets, client
//! authentication, and the token-signing keys.

use super::*;

/// How precisely a client secret's last use is kept: the token endpoint
/// writes it at most once per this interval per secret, so signing in
/// stays a read (a busy client writes once a minute, not per token).
pub const SECRET_USE_RESOLUTION: time::Duration = time::Duration::seconds(60);

/// A token-signing key without its key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    pub kid: String,
    pub created_at: OffsetDateTime,
    /// When the next key replaced it for signing; `None` for the key that
    /// signs now. Tokens it signed stay valid until they expire.
    pub superseded_at: Option<OffsetDateTime>,
}

impl Keyrotor {
    pub(crate) fn new_secret(
        &self,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(PrincipalSecret, Secret)> {
        let secret = keyrotor_crypto::random_secret(32).map_err(Error::Crypto)?;
        Ok((
            PrincipalSecret {
                secret_id: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
                verifier: keyrotor_crypto::sha256_hex(secret.expose().as_bytes()),
                expires_at,
                created_at: self.now(),
                last_used_at: None,
            },
            secret,
        ))
    }

    /// Creates a service principal with one client secret; the secret exists
    /// only in the return value.
    pub fn create_principal(
        &self,
        actor: &Actor,
        display_name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(Principal, PrincipalSecret, Secret)> {
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
            return Err(Error::InvalidInput(
                "display names have 1-120 printable characters".into(),
            ));
        }
        let principal = Principal {
            client_id: keyrotor_crypto::random_guid().map_err(Error::Crypto)?,
            display_name: name.to_string(),
            created_at: self.now(),
            owner: Some(actor.0.clone()),
        };
        let (meta, secret) = self.new_secret(expires_at)?;
        let audit = self.audit(
            actor,
            "principal.create",
            principal.client_id.clone(),
            name.to_string(),
        );
        self.store.insert_principal(&principal, &meta, &audit)?;
        Ok((principal, meta, secret))
    }

    pub fn principals(&self) -> Result<Vec<(Principal, Vec<PrincipalSecret>)>> {
        Ok(self.store.principals()?)
    }

    /// Adds a client secret (for rotating a principal's secret without downtime).
    pub fn add_principal_secret(
        &self,
        actor: &Actor,
        client_id: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(PrincipalSecret, Secret)> {
        self.check_principal_owner(actor, client_id)?;
        let (meta, secret) = self.new_secret(expires_at)?;
        let audit = self.audit(
            actor,
            "principal.secret.add",
            client_id.to_string(),
            meta.secret_id.clone(),
        );
        // NotFound: the principal was deleted by a concurrent request.
        self.store
            .add_principal_secret(client_id, &meta, &audit)
            .map_err(|e| match e {
                StoreError::NotFound => Error::PrincipalNotFound(client_id.to_string()),
                other => other.into(),
            })?;
        Ok((meta, secret))
    }

    pub fn remove_principal_secret(
        &self,
        actor: &Actor,
        client_id: &str,
        secret_id: &str,
    ) -> Result<()> {
        self.check_principal_owner(actor, client_id)?;
        let audit = self.audit(
            actor,
            "principal.secret.remove",
            client_id.to_string(),
            secret_id.to_string(),
        );
        if self
            .store
            .remove_principal_secret(client_id, secret_id, &audit)?
        {
            Ok(())
        } else {
            Err(Error::PrincipalNotFound(
                format!("{client_id}/{secret_id}")
                    .chars()
                    .take(120)
                    .collect(),
            ))
        }
    }

    /// Deletes a service principal (its owners and the bootstrap
    /// administrator may); the bootstrap administrator cannot be deleted.
    pub fn delete_principal(&self, actor: &Actor, client_id: &str) -> Result<()> {
        self.check_principal_owner(actor, client_id)?;
        let audit = self.audit(
            actor,
            "principal.delete",
            client_id.to_string(),
            String::new(),
        );
        if self.store.delete_principal(client_id, &audit)? {
            self.bump_rbac();
            Ok(())
        } else {
            Err(Error::PrincipalNotFound(
                client_id.chars().take(64).collect(),
            ))
        }
    }

    /// Whether `actor` may manage the secrets of `client_id` or delete it.
    /// Credential management is a privilege of its own, never a role's (as
    /// in Azure, where it is an application-owner permission, not ARM's):
    /// a principal's owner (its creator) and the bootstrap administrator
    /// may; for the administrator itself nobody may through the API (its
    /// secret is reset locally, [`Keyrotor::reset_admin_secret`]), so no
    /// caller can take over or lock out the administrator.
    pub(crate) fn check_principal_owner(&self, actor: &Actor, client_id: &str) -> Result<()> {
        let admin = self.admin.get().map(String::as_str);
        if admin.is_some_and(|a| a.eq_ignore_ascii_case(client_id)) {
            return Err(Error::AdministratorManagedLocally);
        }
        let is_admin = admin.is_some_and(|a| a.eq_ignore_ascii_case(&actor.0));
        let found = self.store.principal(client_id)?;
        let is_owner = found.as_ref().is_some_and(|(p, _)| {
            p.owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(&actor.0))
        });
        if found.is_none() && is_admin {
            return Err(Error::PrincipalNotFound(
                client_id.chars().take(64).collect(),
            ));
        }
        // Nobody owns a principal that does not exist: other callers learn
        // nothing about which client ids exist.
        if is_admin || is_owner {
            Ok(())
        } else {
            Err(Error::NotPrincipalOwner {
                actor: actor.0.chars().take(64).collect(),
                client_id: client_id.chars().take(64).collect(),
            })
        }
    }

    /// Break-glass recovery of a lost or leaked administrator secret, for a
    /// local command that holds the data directory and the root key (never
    /// reachable over the network): checks that the root key opens what is
    /// sealed in this database, then replaces every secret of the bootstrap
    /// administrator with a new one, in one transaction.
    pub fn reset_admin_secret(&self, actor: &Actor) -> Result<NewCredentials> {
        let admin = self.store.meta(META_ADMIN)?.ok_or_else(|| {
            Error::InvalidInput("this database has no bootstrap administrator yet".into())
        })?;
        for k in self.store.signing_keys()? {
            self.root
                .open(&signing_context(&k.kid), &k.sealed_pkcs8)
                .map_err(Error::KeyMaterialUnavailable)?;
        }
        let (meta, secret) = self.new_secret(None)?;
        let audit = self.audit(
            actor,
            "principal.secret.reset",
            admin.clone(),
            meta.secret_id.clone(),
        );
        self.store
            .replace_principal_secrets(&admin, &meta, &audit)
            .map_err(|e| match e {
                StoreError::NotFound => Error::PrincipalNotFound(admin.clone()),
                other => other.into(),
            })?;
        Ok(NewCredentials {
            client_id: admin,
            client_secret: secret,
        })
    }

    /// Adds a new token-signing key (it signs from now on) and drops keys
    /// superseded longer ago than `overlap`, so tokens they signed expire first.
    pub fn rotate_signing_key(
        &self,
        overlap: time::Duration,
        generate: impl FnOnce() -> Result<(String, Vec<u8>)>,
    ) -> Result<Vec<SigningKey>> {
        let (kid, pkcs8) = generate()?;
        let sealed = self
            .root
            .seal(&signing_context(&kid), &pkcs8)
            .map_err(Error::Crypto)?;
        let now = self.now();
        self.store.insert_signing_key(&StoredSigningKey {
            kid,
            sealed_pkcs8: sealed,
            created_at: now,
        })?;
        let stored = self.store.signing_keys()?;
        // Key i is superseded when key i+1 was created.
        for pair in stored.windows(2) {
            if now - pair[1].created_at > overlap {
                self.store.delete_signing_key(&pair[0].kid)?;
            }
        }
        self.committed(&[ChangeDomain::Signing]);
        self.signing_keys(|| Err(Error::InvalidInput("no signing key".into())))
    }

    /// The token-signing keys the JWKS publishes, oldest first (the last
    /// one signs), without their key material.
    pub fn signing_key_list(&self) -> Result<Vec<SigningKeyInfo>> {
        let stored = self.store.signing_keys()?;
        let next: Vec<Option<OffsetDateTime>> = stored
            .iter()
            .skip(1)
            .map(|k| Some(k.created_at))
            .chain([None])
            .collect();
        Ok(stored
            .into_iter()
            .zip(next)
            .map(|(k, superseded_at)| SigningKeyInfo {
                kid: k.kid,
                created_at: k.created_at,
                superseded_at,
            })
            .collect())
    }

    /// Records that `secret` of `client_id` signed in now, unless its last
    /// use is recorded less than [`SECRET_USE_RESOLUTION`] ago. A failure
    /// is logged (without the secret, which never reaches this) and does
    /// not refuse the sign-in.
    pub(crate) fn note_secret_use(&self, client_id: &str, secret: &PrincipalSecret) {
        let now = self.now();
        if secret
            .last_used_at
            .is_some_and(|t| now - t < SECRET_USE_RESOLUTION)
        {
            return;
        }
        if let Err(e) = self
            .store
            .record_secret_use(client_id, &secret.secret_id, now)
        {
            tracing::warn!(client_id, secret_id = %secret.secret_id, error = %e, "recording a client secret's last use failed");
        }
    }

    /// Token-signing keys, creating the first one if none exists.
    pub fn signing_keys(
        &self,
        generate: impl FnOnce() -> Result<(String, Vec<u8>)>,
    ) -> Result<Vec<SigningKey>> {
        let mut stored = self.store.signing_keys()?;
        if stored.is_empty() {
            let (kid, pkcs8) = generate()?;
            let sealed = self
                .root
                .seal(&signing_context(&kid), &pkcs8)
                .map_err(Error::Crypto)?;
            self.store.insert_signing_key(&StoredSigningKey {
                kid,
                sealed_pkcs8: sealed,
                created_at: self.now(),
            })?;
            self.committed(&[ChangeDomain::Signing]);
            stored = self.store.signing_keys()?;
        }
        stored
            .into_iter()
            .map(|k| {
                let pkcs8 = self
                    .root
                    .open(&signing_context(&k.kid), &k.sealed_pkcs8)
                    .map_err(Error::KeyMaterialUnavailable)?;
                Ok(SigningKey {
                    kid: k.kid,
                    pkcs8,
                    created_at: k.created_at,
                })
            })
            .collect()
    }
}
