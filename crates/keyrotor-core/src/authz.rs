//! Role assignments and the authorization snapshot the data planes and
//! ARM check against.

use super::*;

impl Keyrotor {
    /// The current authorization snapshot (rebuilt from the store after any
    /// change to role assignments, on this node or, once polled, another).
    pub fn authorizer(&self) -> Result<Arc<rbac::Authorizer>> {
        self.with_authorizer_arc(Arc::clone)
    }

    /// Runs `f` with the current [`rbac::Authorizer`] without cloning its
    /// `Arc` (for per-request checks: no reference count that other cores
    /// write too).
    pub fn with_authorizer<R>(&self, f: impl FnOnce(&rbac::Authorizer) -> R) -> Result<R> {
        self.with_authorizer_arc(|a| f(a))
    }

    fn with_authorizer_arc<R>(&self, f: impl FnOnce(&Arc<rbac::Authorizer>) -> R) -> Result<R> {
        // The epoch first: a snapshot built after reading it is at least
        // as new as the change that moved it.
        let epoch = self.changes.epoch(ChangeDomain::Rbac);
        self.authz.with(
            epoch,
            || {
                let assignments = self.store.role_assignments()?;
                let admin = self.admin.get().map_or("", String::as_str);
                Ok(Arc::new(rbac::Authorizer::new(admin, &assignments)))
            },
            f,
        )
    }

    /// Assigns a built-in role (by GUID or name) to a principal at a scope.
    /// `name` is the assignment's GUID. Returns the assignment and whether it
    /// was created (false: the same assignment already existed under `name`).
    pub fn create_role_assignment(
        &self,
        dir: &Directory,
        actor: &Actor,
        name: &str,
        scope: &str,
        principal_id: &str,
        role: &str,
    ) -> Result<(rbac::RoleAssignment, bool)> {
        if uuid_like(name).is_none() {
            return Err(Error::InvalidInput(
                "the role assignment name must be a GUID".into(),
            ));
        }
        let key = rbac::normalize_scope(scope)
            .filter(|k| rbac::valid_assignment_scope(k, &dir.subscription_id))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "'{}' is not a scope of this service (/, its subscription, a resource group or a resource)",
                    scope.chars().take(200).collect::<String>()
                ))
            })?;
        // Role definition ids may be full ARM ids; the GUID is the last segment.
        let role_key = role.rsplit('/').next().unwrap_or(role);
        let def = rbac::role_by_id(role_key)
            .or_else(|| rbac::role_by_name(role))
            .ok_or_else(|| Error::RoleNotFound(role.chars().take(200).collect()))?;
        if principal_id != dir.admin_client_id && self.store.principal(principal_id)?.is_none() {
            return Err(Error::PrincipalNotFound(
                principal_id.chars().take(64).collect(),
            ));
        }
        let a = rbac::RoleAssignment {
            name: name.to_ascii_lowercase(),
            scope: scope.trim_end_matches('/').to_string(),
            principal_id: principal_id.to_string(),
            role_id: def.id.to_string(),
            created_at: self.now(),
            created_by: actor.0.clone(),
        };
        let a = if a.scope.is_empty() {
            rbac::RoleAssignment {
                scope: "/".into(),
                ..a
            }
        } else {
            a
        };
        let audit = self.audit(
            actor,
            "roleAssignment.create",
            a.name.clone(),
            format!("{} {} at {}", a.principal_id, def.name, a.scope),
        );
        match self.store.insert_role_assignment(&a, &audit) {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                // The name or the (principal, role, scope) triple is taken:
                // a repeated PUT of the same assignment is a success.
                let existing = self.store.role_assignments()?;
                if let Some(same) = existing.iter().find(|x| x.name.eq_ignore_ascii_case(name)) {
                    let unchanged = same.principal_id.eq_ignore_ascii_case(principal_id)
                        && same.role_id.eq_ignore_ascii_case(def.id)
                        && rbac::normalize_scope(&same.scope).as_deref() == Some(key.as_str());
                    return if unchanged {
                        Ok((same.clone(), false))
                    } else {
                        Err(Error::InvalidInput(
                            "role assignments cannot be updated; delete and create it again".into(),
                        ))
                    };
                }
                return Err(Error::RoleAssignmentExists);
            }
            Err(e) => return Err(e.into()),
        }
        self.bump_rbac();
        Ok((a, true))
    }

    pub fn role_assignments(&self) -> Result<Vec<rbac::RoleAssignment>> {
        Ok(self.store.role_assignments()?)
    }

    /// The assignment `name` made at `scope` (an assignment of that name at
    /// another scope is not found there, as in ARM).
    pub fn role_assignment(&self, name: &str, scope: &str) -> Result<rbac::RoleAssignment> {
        let key = rbac::normalize_scope(scope);
        self.store
            .role_assignments()?
            .into_iter()
            .find(|a| a.name.eq_ignore_ascii_case(name) && rbac::normalize_scope(&a.scope) == key)
            .ok_or_else(|| Error::RoleAssignmentNotFound(name.chars().take(64).collect()))
    }

    /// Deletes the assignment `name` at `scope`; returns it, or `None` when
    /// there was none there.
    pub fn delete_role_assignment(
        &self,
        actor: &Actor,
        name: &str,
        scope: &str,
    ) -> Result<Option<rbac::RoleAssignment>> {
        let a = match self.role_assignment(name, scope) {
            Ok(a) => a,
            Err(Error::RoleAssignmentNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let audit = self.audit(
            actor,
            "roleAssignment.delete",
            a.name.clone(),
            format!("{} {} at {}", a.principal_id, a.role_id, a.scope),
        );
        let deleted = self.store.delete_role_assignment(&a.name, &audit)?;
        self.bump_rbac();
        Ok(deleted.then_some(a))
    }

    /// Creates the tenant, subscription and administrator on first start.
    /// Returns the directory, and the administrator's credentials only when
    /// they were created by this call.
    pub fn bootstrap(&self) -> Result<(Directory, Option<NewCredentials>)> {
        // What the store's change sequences are now: later polls move the
        // epochs only for changes after this.
        self.poll_changes()?;
        let guid = || keyrotor_crypto::random_guid().map_err(Error::Crypto);
        let tenant_id = self.store.init_meta(META_TENANT, &guid()?)?;
        let sub = self.store.init_meta(META_SUBSCRIPTION, &guid()?)?;
        let subscription_id = SubscriptionId::parse(&sub)
            .map_err(|e| Error::Storage(StoreError::Corrupt(e.to_string())))?;
        let mut created = None;
        let admin = match self.store.meta(META_ADMIN)? {
            Some(id) => id,
            None => {
                let client_id = guid()?;
                let secret = keyrotor_crypto::random_secret(32).map_err(Error::Crypto)?;
                let now = self.now();
                self.store.insert_principal(
                    &Principal {
                        client_id: client_id.clone(),
                        display_name: "keyrotor bootstrap administrator".into(),
                        created_at: now,
                        owner: None,
                    },
                    &PrincipalSecret {
                        secret_id: guid()?,
                        verifier: keyrotor_crypto::sha256_hex(secret.expose().as_bytes()),
                        expires_at: None,
                        created_at: now,
                        last_used_at: None,
                    },
                    &AuditEvent {
                        at: now,
                        ..self.audit(
                            &Actor::system(),
                            "principal.create",
                            client_id.clone(),
                            "bootstrap administrator".into(),
                        )
                    },
                )?;
                let id = self.store.init_meta(META_ADMIN, &client_id)?;
                if id == client_id {
                    created = Some(NewCredentials {
                        client_id: client_id.clone(),
                        client_secret: secret,
                    });
                }
                id
            }
        };
        let _ = self.admin.set(admin.clone());
        self.bump_rbac();
        Ok((
            Directory {
                tenant_id,
                subscription_id,
                admin_client_id: admin,
            },
            created,
        ))
    }

    /// Checks a client id and secret (client-credentials grant).
    pub fn authenticate_client(&self, client_id: &str, secret: &Secret) -> Result<Principal> {
        let verifier = keyrotor_crypto::sha256_hex(secret.expose().as_bytes());
        let found = self.store.principal(client_id)?;
        let now = self.now();
        // Compare against a dummy verifier for unknown clients so the answer
        // takes the same path either way.
        let (principal, secrets) = match found {
            Some(p) => p,
            None => {
                let _ = keyrotor_crypto::ct_eq(verifier.as_bytes(), &[b'0'; 64]);
                return Err(Error::BadCredentials);
            }
        };
        // Every secret is compared (no early exit); the matching one's
        // last use is recorded.
        let mut matched = None;
        for s in &secrets {
            let live = s.expires_at.is_none_or(|exp| exp > now);
            if keyrotor_crypto::ct_eq(verifier.as_bytes(), s.verifier.as_bytes()) && live {
                matched = Some(s);
            }
        }
        match matched {
            Some(s) => {
                self.note_secret_use(&principal.client_id, s);
                Ok(principal)
            }
            None => Err(Error::BadCredentials),
        }
    }
}
