//! The accounts' data planes: the only crate that knows data-plane wire
//! shapes (Cosmos DB REST, Batch REST, AI Services errors).
//!
//! Every account request runs one pipeline (`pipeline.rs`): find the account
//! (cached key material, invalidated by the core's change epoch so a
//! regenerated key is refused by the very next request), read the operation
//! and the credential, verify a bearer token and its data role or the key
//! with `keyrotor-auth`, admit the key (key auth on, not replaced after a
//! restored backup) and record its usage in memory (flushed about once a
//! second), then serve the operation. Each service plugs in its scheme,
//! its operations and its error shape.

mod ai;
mod batch;
mod cosmos;
mod pipeline;
mod query;
mod respond;
mod route;
pub mod vault;

pub(crate) use respond::*;
pub(crate) use route::activity_id;
pub use route::{target, Target};

/// Entry points for the fuzz targets (`fuzz/`): the parsers that read
/// client input, without the HTTP around them. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a Cosmos SQL query with parameters (JSON object text) and, if
    /// it parses, evaluates it against a document (JSON text).
    pub fn cosmos_query(sql: &str, params: &str, doc: &str) {
        let params = match serde_json::from_str::<serde_json::Value>(params) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        if let Ok(q) = crate::query::parse(sql, &params) {
            let doc = serde_json::from_str(doc).unwrap_or(serde_json::Value::Null);
            let _ = q.matches(&doc);
        }
    }

    /// Reads Key Vault object attributes from a request body (JSON text) as
    /// a create or update would; the attributes it accepts, if any.
    pub fn vault_attributes(body: &str) -> Option<keyrotor_core::vault::ObjectAttributes> {
        let Ok(serde_json::Value::Object(body)) = serde_json::from_str(body) else {
            return None;
        };
        crate::vault::read_attributes(&body, Default::default()).ok()
    }
}

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use keyrotor_auth::CandidateKey;
use keyrotor_core::{Account, Keyrotor, LocalAuth, UsageRecorder};
use keyrotor_types::{AccountKind, AccountName, KeySlot};

/// Largest Cosmos/Batch request body (AI requests stream without a bound).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// An account's data-plane view: its record and current keys, prepared.
pub struct Entry {
    pub account: Account,
    pub keys: Vec<CandidateKey>,
    /// Generation of each current key slot (a handful: scanned, not hashed).
    pub generations: Vec<(KeySlot, u64)>,
    /// Cosmos account document last served, by the URL it names (clients read
    /// it at start-up and on every location refresh).
    pub(crate) account_doc: std::sync::Mutex<Option<(String, bytes::Bytes)>>,
    /// The account's ARM scope, normalized (for role checks).
    pub(crate) scope_key: String,
    /// Slots whose stored value was replaced after the backup this
    /// database was restored from (the key ledger knows a newer generation):
    /// they authenticate nothing until regenerated. Usually empty.
    pub(crate) restored: Vec<KeySlot>,
}

/// What [`DataPlane::admit`] decided about a request a key authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admitted,
    /// Key authentication is disabled for the account.
    LocalAuthDisabled,
    /// The key is one that was replaced after the restored database's
    /// backup (503 `RestoredStateRequiresRotation`, no Retry-After: it
    /// lasts until the slot is regenerated).
    RestoredStateRequiresRotation,
}

/// The message of [`Admission::RestoredStateRequiresRotation`].
pub(crate) const RESTORED_STATE_MESSAGE: &str = "This key was replaced after the backup that the service's database was restored from, so it is refused: regenerate it. Keys unchanged since the backup, and bearer tokens, keep working.";

/// Why a data-plane bearer token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("bearer tokens are not configured on this server")]
    NotConfigured,
    /// Signature, issuer, algorithm or validity window.
    #[error(transparent)]
    Invalid(#[from] keyrotor_identity::Error),
    #[error("the token was issued for another tenant")]
    OtherTenant,
    #[error("the token's audience '{0}' is not this service's")]
    Audience(String),
}

/// How the data planes verify Entra-style bearer tokens.
pub struct TokenConfig {
    pub issuer: Arc<keyrotor_identity::IssuerCell>,
    pub tenant: String,
    /// Host name of the service's public URL (Cosmos tokens name it).
    pub public_host: String,
    pub dns_suffix: Option<String>,
}

/// Audiences of data-plane tokens, per kind. Cosmos: the account host name
/// (`https://{host}`, no port) or `https://cosmos.azure.com`; Batch:
/// `https://batch.core.windows.net/`; AI Services: `https://cognitiveservices.azure.com`.
pub fn data_plane_audience(
    aud: &str,
    public_host: &str,
    dns_suffix: Option<&str>,
) -> Option<AccountKind> {
    let a = aud.trim_end_matches('/');
    match a {
        "https://cosmos.azure.com" => return Some(AccountKind::Cosmos),
        "https://batch.core.windows.net" => return Some(AccountKind::Batch),
        "https://cognitiveservices.azure.com" | "https://ai.azure.com" => {
            return Some(AccountKind::Ai)
        }
        _ => {}
    }
    let host = a.strip_prefix("https://")?;
    if host.eq_ignore_ascii_case(public_host) {
        return Some(AccountKind::Cosmos);
    }
    let suffix = dns_suffix?;
    let label = host.strip_suffix(&format!(".documents.{suffix}"))?;
    (!label.is_empty() && !label.contains('.')).then_some(AccountKind::Cosmos)
}

pub struct DataPlane {
    tokens: Option<TokenConfig>,
    verified: keyrotor_identity::VerifiedTokens,
    pub(crate) vault_cfg: Option<vault::VaultConfig>,
    core: Arc<Keyrotor>,
    /// Account entries, a snapshot per worker thread at the core's change
    /// epoch of accounts and keys, each with entries of its own: a request
    /// locks only its thread's copy and clones only its thread's
    /// `Arc<Entry>`, so no lock word or reference count is written by two
    /// cores (on two cores, shared ones cost more than the rest of the
    /// lookup). Filled entry by entry, emptied when the epoch moves (a
    /// regenerated key is refused by the very next request on this node):
    /// each thread loads an account once per epoch.
    cache: keyrotor_types::Snapshot<AccountMaps>,
    pub usage: Arc<UsageRecorder>,
    /// Whether usage is recorded (on by default; off only to measure its cost).
    pub record_usage: bool,
    /// The AI proxy's client. It never follows redirects (a redirect is
    /// relayed to the caller as the upstream sent it): following one would
    /// reach a path, or a host, that the base-path check never saw. `None`
    /// when it could not be built (the proxy then answers 502).
    http: Option<reqwest::Client>,
}

/// Header names the data planes set on their responses, parsed once.
pub(crate) mod names {
    use http::HeaderName;
    pub static X_MS_ACTIVITY_ID: HeaderName = HeaderName::from_static("x-ms-activity-id");
    pub static X_MS_REQUEST_CHARGE: HeaderName = HeaderName::from_static("x-ms-request-charge");
    pub static X_MS_SUBSTATUS: HeaderName = HeaderName::from_static("x-ms-substatus");
    pub static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

    /// Values validated once (a `from_static` call checks its bytes each time).
    pub static APPLICATION_JSON: http::HeaderValue =
        http::HeaderValue::from_static("application/json");
    pub static ONE: http::HeaderValue = http::HeaderValue::from_static("1");
    pub static ZERO: http::HeaderValue = http::HeaderValue::from_static("0");
}

/// The bearer token of a request (trimmed); `None` without one, and when
/// `Authorization` is repeated (a credential header is never read
/// first-wins).
pub(crate) fn bearer(headers: &http::HeaderMap) -> Option<String> {
    let mut all = headers.get_all(http::header::AUTHORIZATION).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return None;
    }
    first
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// One thread's account cache: per kind (index `kind_index`), lower-case
/// account name to entry (None: no such account).
#[derive(Default)]
struct AccountMaps([HashMap<String, Option<Arc<Entry>>>; 3]);

fn kind_index(kind: AccountKind) -> usize {
    match kind {
        AccountKind::Ai => 0,
        AccountKind::Batch => 1,
        AccountKind::Cosmos => 2,
    }
}

impl DataPlane {
    pub fn new(core: Arc<Keyrotor>) -> Self {
        Self {
            tokens: None,
            verified: keyrotor_identity::VerifiedTokens::new(65_536),
            vault_cfg: None,
            core,
            cache: keyrotor_types::Snapshot::new(),
            usage: Arc::new(UsageRecorder::new()),
            record_usage: true,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .inspect_err(|e| tracing::error!(error = %e, "the AI proxy's HTTP client could not be built"))
                .ok(),
        }
    }

    pub fn core(&self) -> &Arc<Keyrotor> {
        &self.core
    }

    /// Serves key vaults at `{vault}.{cfg.suffix}` (needs tokens too).
    pub fn with_vaults(mut self, cfg: vault::VaultConfig) -> Self {
        self.vault_cfg = Some(cfg);
        self
    }

    /// The vault a request's host names, when vaults are served.
    pub fn vault_target<'a>(&self, host: Option<&'a str>) -> Option<&'a str> {
        let cfg = self.vault_cfg.as_ref()?;
        vault::vault_host(host?, &cfg.suffix)
    }

    /// Accepts bearer tokens from this issuer on the data planes.
    pub fn with_tokens(mut self, tokens: TokenConfig) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Verifies a data-plane bearer token for `kind` and `account`: signature,
    /// issuer, expiry, tenant, and an audience of that kind (for Cosmos host
    /// names, the account's own). Returns the caller's client id.
    ///
    /// What the principal may do is decided afterwards by
    /// [`DataPlane::authorize_data`].
    pub fn verify_bearer(
        &self,
        kind: AccountKind,
        account: &str,
        token: &str,
    ) -> Result<String, TokenError> {
        let cfg = self.tokens.as_ref().ok_or(TokenError::NotConfigured)?;
        self.principal(token, |aud| {
            match data_plane_audience(aud, &cfg.public_host, cfg.dns_suffix.as_deref()) {
                Some(k) if k == kind => {
                    // A Cosmos host-name audience must name this very account.
                    match (kind, cfg.dns_suffix.as_deref()) {
                        (AccountKind::Cosmos, Some(suffix))
                            if aud.contains(&format!(".documents.{suffix}")) =>
                        {
                            aud.trim_end_matches('/').eq_ignore_ascii_case(&format!(
                                "https://{account}.documents.{suffix}"
                            ))
                        }
                        _ => true,
                    }
                }
                _ => false,
            }
        })
    }

    /// The principal (client id) of a data-plane bearer token: its
    /// signature, issuer and validity (verified once per thread and token,
    /// [`keyrotor_identity::VerifiedTokens`]), its tenant, and an audience
    /// that `audience_ok` accepts. Shared by the account data planes and
    /// the vault, which differ only in the audiences they accept.
    pub(crate) fn principal(
        &self,
        token: &str,
        audience_ok: impl FnOnce(&str) -> bool,
    ) -> Result<String, TokenError> {
        let cfg = self.tokens.as_ref().ok_or(TokenError::NotConfigured)?;
        let now = self.core.now();
        let claims = cfg
            .issuer
            .with(|issuer, version| self.verified.verify(issuer, version, token, now))?;
        if claims.tid != cfg.tenant {
            return Err(TokenError::OtherTenant);
        }
        if !audience_ok(&claims.aud) {
            return Err(TokenError::Audience(claims.aud.clone()));
        }
        Ok(claims.appid.clone())
    }

    /// Whether the token-authenticated `principal` holds a data role granting
    /// `action` on the entry's account (assignments at the account, its
    /// group, the subscription or the root).
    pub fn authorize_data(&self, entry: &Entry, principal: &str, action: &str) -> bool {
        self.allows_data(&entry.scope_key, principal, action)
    }

    /// Whether `principal` holds a data role granting `action` at the
    /// normalized scope `scope_key` or above; no scope grants nothing, and
    /// role assignments that cannot be read deny.
    pub(crate) fn allows_data(&self, scope_key: &str, principal: &str, action: &str) -> bool {
        if scope_key.is_empty() {
            return false;
        }
        match self
            .core
            .with_authorizer(|z| z.allows_data(principal, scope_key, action))
        {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(error = %e, "role assignments could not be loaded; denying");
                false
            }
        }
    }

    /// The ARM-style scope of the entry's account (for error messages).
    pub(crate) fn scope_of(entry: &Entry) -> String {
        let a = &entry.account;
        keyrotor_core::rbac::account_scope(a.kind, &a.subscription, &a.resource_group, &a.name)
    }

    /// The account and its current keys; `None` if there is no such account.
    pub async fn entry(
        &self,
        kind: AccountKind,
        name: &str,
    ) -> Result<Option<Arc<Entry>>, keyrotor_core::Error> {
        let epoch = self.core.epoch();
        let k = kind_index(kind);
        if let Some(hit) = self.cached(kind, name) {
            return Ok(hit);
        }
        let Ok(parsed) = AccountName::parse(kind, name) else {
            return Ok(None);
        };
        let core = self.core.clone();
        let loaded =
            tokio::task::spawn_blocking(move || -> Result<Option<Entry>, keyrotor_core::Error> {
                let Some(account) = core.account_by_name(kind, &parsed)? else {
                    return Ok(None);
                };
                let keys = match core.list_keys(&account) {
                    Ok(keys) => keys,
                    // Deleted by a concurrent request since it was read:
                    // there is no such account.
                    Err(
                        keyrotor_core::Error::Gone | keyrotor_core::Error::AccountNotFound { .. },
                    ) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let restored: Vec<KeySlot> = keys
                    .iter()
                    .filter(|k| core.replaced_after_restore(&account, k.slot, k.generation))
                    .map(|k| k.slot)
                    .collect();
                let scope = keyrotor_core::rbac::account_scope(
                    account.kind,
                    &account.subscription,
                    &account.resource_group,
                    &account.name,
                );
                Ok(Some(Entry {
                    restored,
                    account_doc: std::sync::Mutex::new(None),
                    scope_key: keyrotor_core::rbac::normalize_scope(&scope).unwrap_or_default(),
                    generations: keys.iter().map(|k| (k.slot, k.generation)).collect(),
                    keys: keys
                        .into_iter()
                        .map(|k| CandidateKey::new(k.slot, k.value))
                        .collect(),
                    account,
                }))
            })
            .await
            .map_err(|_| {
                keyrotor_core::Error::Unavailable(keyrotor_core::StoreError::Unavailable(
                    "task failed".into(),
                ))
            })??
            .map(Arc::new);
        // Only cache what is still current: a change during the load leaves
        // the epoch moved and the next request reloads.
        if self.core.epoch() == epoch {
            self.cache.write(epoch, AccountMaps::default, |maps| {
                maps.0[k].insert(name.to_ascii_lowercase(), loaded.clone())
            });
        }
        Ok(loaded)
    }

    /// The cached entry, without I/O: `None` on a miss or a stale cache
    /// (the next load empties this thread's copy).
    pub fn cached(&self, kind: AccountKind, name: &str) -> Option<Option<Arc<Entry>>> {
        self.cache
            .read(self.core.epoch(), |maps| {
                let map = &maps.0[kind_index(kind)];
                // No allocation on the hot path for names already lower-case.
                if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    map.get(&name.to_ascii_lowercase()).cloned()
                } else {
                    map.get(name).cloned()
                }
            })
            .flatten()
    }

    /// Records one successful authentication by a client.
    pub fn record_client(&self, entry: &Entry, slot: KeySlot, user_agent: &str, ip: IpAddr) {
        self.record_usage_event(entry, slot, user_agent, ip, false, self.core.unix_now());
    }

    fn record_usage_event(
        &self,
        entry: &Entry,
        slot: KeySlot,
        user_agent: &str,
        ip: IpAddr,
        would_reject: bool,
        now: i64,
    ) {
        if !self.record_usage && !would_reject {
            return;
        }
        let generation = entry
            .generations
            .iter()
            .find(|(s, _)| *s == slot)
            .map_or(0, |(_, g)| *g);
        self.usage.record(&keyrotor_core::usage::UsageEvent {
            account_id: entry.account.id,
            slot,
            generation,
            at: now,
            user_agent,
            address: ip,
            would_reject,
        });
    }

    /// Applies the account's key-auth mode to a request that a key
    /// authenticated: records its usage (counting it as "would be rejected"
    /// in report-only mode) and answers whether it may proceed. `now` is the
    /// request's time in Unix seconds (one clock read per request).
    pub(crate) fn admit(
        &self,
        entry: &Entry,
        slot: KeySlot,
        user_agent: &str,
        peer: Option<SocketAddr>,
        now: i64,
    ) -> Admission {
        let mode = entry.account.settings.local_auth(now);
        if mode == LocalAuth::Refused {
            return Admission::LocalAuthDisabled;
        }
        if entry.restored.contains(&slot) {
            return Admission::RestoredStateRequiresRotation;
        }
        let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip());
        self.record_usage_event(
            entry,
            slot,
            user_agent,
            ip,
            mode == LocalAuth::WouldReject,
            now,
        );
        Admission::Admitted
    }

    /// Serves one data-plane request (the pipeline of `pipeline.rs`, with
    /// the account's service plugged in).
    pub async fn handle(self: &Arc<Self>, t: Target, req: Request<Body>) -> Response {
        match t.kind {
            AccountKind::Ai => pipeline::run::<ai::Ai>(self, t, req).await,
            AccountKind::Batch => pipeline::run::<batch::Batch>(self, t, req).await,
            AccountKind::Cosmos => pipeline::run::<cosmos::Cosmos>(self, t, req).await,
        }
    }

    /// Flushes recorded usage to the store every `interval` until the
    /// returned task is dropped or aborted.
    pub fn spawn_usage_flusher(
        self: &Arc<Self>,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                me.flush_usage().await;
            }
        })
    }

    /// Writes pending usage now.
    pub async fn flush_usage(&self) {
        let core = self.core.clone();
        let usage = self.usage.clone();
        match tokio::task::spawn_blocking(move || core.flush_usage(&usage)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "usage flush failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "usage flush task failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    /// The vault data plane's bearer token: a repeated Authorization header
    /// is no token at all (never first-wins).
    #[test]
    fn a_repeated_authorization_header_is_no_bearer_token() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer a.b.c"),
        );
        assert_eq!(bearer(&h).as_deref(), Some("a.b.c"));
        h.append(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer x.y.z"),
        );
        assert_eq!(bearer(&h), None);
    }

    /// One sample of every domain error (and of every store refusal that
    /// could reach the data planes wrapped as storage trouble).
    fn every_core_error() -> Vec<keyrotor_core::Error> {
        use keyrotor_core::vault::Collection;
        use keyrotor_core::{Error as E, StoreError as S};
        use keyrotor_crypto::vault::VaultCryptoError as V;
        let name_error =
            keyrotor_types::ResourceGroupName::parse("").expect_err("an empty name is refused");
        vec![
            E::InvalidName(name_error),
            E::InvalidInput("bad".into()),
            E::SubscriptionNotFound("s".into()),
            E::GroupNotFound("g".into()),
            E::AccountNotFound {
                kind: AccountKind::Cosmos,
                name: "a".into(),
            },
            E::NameTaken {
                kind: AccountKind::Batch,
                name: "a".into(),
            },
            E::NoSuchKey {
                kind: AccountKind::Ai,
                slot: KeySlot::PrimaryReadonly,
            },
            E::ItemExists,
            E::ItemNotFound,
            E::KeysInUse {
                kind: AccountKind::Ai,
                window: time::Duration::minutes(5),
                keys: Vec::new(),
            },
            E::PreconditionFailed,
            E::PrincipalNotFound("p".into()),
            E::NotPrincipalOwner {
                actor: "a".into(),
                client_id: "c".into(),
            },
            E::AdministratorManagedLocally,
            E::RoleNotFound("r".into()),
            E::RoleAssignmentNotFound("r".into()),
            E::RoleAssignmentExists,
            E::VaultNameTaken("v".into()),
            E::VaultNotFound("v".into()),
            E::ObjectNotFound(Collection::Keys, "k".into()),
            E::ObjectNotFound(Collection::Secrets, "s".into()),
            E::ObjectConflict(Collection::Keys, "k".into()),
            E::ObjectChanged(Collection::Secrets, "s".into()),
            E::ObjectDisabled("k".into()),
            E::ObjectNotValidNow("k".into()),
            E::PurgeProtected("k".into()),
            E::VaultCrypto(V::BadKeySpec),
            E::VaultCrypto(V::WrongAlgorithm("RS256".into())),
            E::VaultCrypto(V::BadInput),
            E::VaultCrypto(V::Unauthentic),
            E::VaultCrypto(V::Malformed),
            E::VaultCrypto(V::Library),
            E::BadCredentials,
            E::KeyMaterialUnavailable(keyrotor_crypto::Error::Unauthentic),
            E::Gone,
            E::ChangedMeanwhile,
            E::Unavailable(S::Unavailable("locked".into())),
            E::Storage(S::Conflict),
            E::Storage(S::NotFound),
            E::Storage(S::Unavailable("locked".into())),
            E::Storage(S::Corrupt("row 7: secret stuff".into())),
            E::Storage(S::PreconditionFailed),
            E::Storage(S::Backend("disk I/O error at /secret/path".into())),
            E::Crypto(keyrotor_crypto::Error::Rng),
            E::Ledger(keyrotor_core::ledger::LedgerError(
                "fsync /secret/path".into(),
            )),
        ]
    }

    /// What every data plane's table must say about a domain error: server
    /// faults are 5xx (their cause never sent), a concurrent delete or
    /// change is the service's 404 or 409, only storage that did not
    /// answer says Retry-After (issue 13, item 6).
    #[tokio::test]
    async fn every_data_plane_maps_domain_errors_alike() {
        use keyrotor_core::{Error as E, StoreError as S};
        use keyrotor_crypto::vault::VaultCryptoError as V;
        /// A data plane's table, rendering a domain error.
        type Table = fn(E) -> Response;
        let services: [(&str, Table); 4] = [
            ("cosmos", |e| cosmos::CosmosError::Core(e).into_response()),
            ("batch", |e| batch::BatchError::Core(e).into_response()),
            ("ai", |e| ai::AiError::Core(e).into_response()),
            ("vault", |e| vault::VaultError::Core(e).into_response()),
        ];
        for e in every_core_error() {
            let label = format!("{e:?}");
            let fault = matches!(
                e,
                E::Storage(S::Corrupt(_) | S::Backend(_) | S::Unavailable(_))
                    | E::Crypto(_)
                    | E::Ledger(_)
                    | E::VaultCrypto(V::Malformed | V::Library)
            );
            let want = match e {
                E::Gone | E::Storage(S::NotFound) => Some(http::StatusCode::NOT_FOUND),
                E::ChangedMeanwhile | E::Storage(S::Conflict) => Some(http::StatusCode::CONFLICT),
                E::Unavailable(_) | E::KeyMaterialUnavailable(_) => {
                    Some(http::StatusCode::SERVICE_UNAVAILABLE)
                }
                _ => None,
            };
            let retry = crate::retry_cures(&e);
            let samples: Vec<(&str, Response)> = services
                .iter()
                .map(|(name, to)| {
                    // A fresh copy of the error for each service.
                    let e = every_core_error()
                        .into_iter()
                        .find(|x| format!("{x:?}") == label)
                        .expect("the sample");
                    (*name, to(e))
                })
                .collect();
            for (service, r) in samples {
                let status = r.status();
                if fault {
                    assert_eq!(
                        status,
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "{service}: {label}"
                    );
                } else {
                    assert_ne!(
                        status,
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "{service}: {label} is the client's or a retry's"
                    );
                }
                if let Some(want) = want {
                    assert_eq!(status, want, "{service}: {label}");
                }
                assert_eq!(
                    r.headers().contains_key(http::header::RETRY_AFTER),
                    retry,
                    "{service}: {label}: Retry-After only for storage that did not answer"
                );
                let body = axum::body::to_bytes(r.into_body(), 1 << 16)
                    .await
                    .expect("body");
                let text = String::from_utf8_lossy(&body);
                for secret in ["row 7", "/secret/path", "fsync", "disk I/O", "locked"] {
                    assert!(!text.contains(secret), "{service}: {label}: {text}");
                }
            }
        }
    }

    #[test]
    fn token_audiences() {
        let a = |aud: &str, sfx: Option<&str>| data_plane_audience(aud, "127.0.0.1", sfx);
        assert_eq!(a("https://127.0.0.1", None), Some(AccountKind::Cosmos));
        assert_eq!(
            a("https://cosmos.azure.com/", None),
            Some(AccountKind::Cosmos)
        );
        assert_eq!(
            a("https://batch.core.windows.net/", None),
            Some(AccountKind::Batch)
        );
        assert_eq!(
            a("https://cognitiveservices.azure.com", None),
            Some(AccountKind::Ai)
        );
        assert_eq!(
            a("https://acct.documents.kr.example", Some("kr.example")),
            Some(AccountKind::Cosmos)
        );
        assert_eq!(
            a("https://a.b.documents.kr.example", Some("kr.example")),
            None
        );
        assert_eq!(a("https://management.azure.com/", None), None);
        assert_eq!(a("https://evil.example", None), None);
        assert_eq!(a("http://127.0.0.1", None), None);
    }

    #[test]
    fn activity_ids_are_distinct_v4_guids() {
        let a = activity_id();
        let b = activity_id();
        assert_ne!(a.as_str(), b.as_str());
        let u = uuid::Uuid::parse_str(a.as_str()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(a.as_str(), u.hyphenated().to_string());
        assert_eq!(a.header().to_str().ok(), Some(a.as_str()));
    }

    #[test]
    fn targets() {
        let t = target(None, "/cosmos/acct/dbs/db1", None).unwrap_or_else(|| panic!("no target"));
        assert_eq!(
            (t.kind, t.account(), t.rest(), t.prefix()),
            (AccountKind::Cosmos, "acct", "/dbs/db1", "/cosmos/acct")
        );
        let t = target(None, "/cosmos/acct", None).unwrap_or_else(|| panic!("no target"));
        assert_eq!(t.rest(), "/");
        assert!(target(None, "/cosmos/", None).is_none());
        assert!(target(None, "/subscriptions/x", None).is_none());
        let t = target(
            Some("ba1.batch.kr.example:8443"),
            "/pools",
            Some("kr.example"),
        )
        .unwrap_or_else(|| panic!("no target"));
        assert_eq!(
            (t.kind, t.account(), t.rest()),
            (AccountKind::Batch, "ba1", "/pools")
        );
        assert!(target(Some("a.b.batch.kr.example"), "/pools", Some("kr.example")).is_none());
        assert!(target(
            Some("kr.example:8443"),
            "/subscriptions",
            Some("kr.example")
        )
        .is_none());
    }
}
