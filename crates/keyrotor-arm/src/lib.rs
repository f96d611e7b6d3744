//! The Azure Resource Manager wire layer: the only crate that knows ARM
//! URLs, JSON shapes, status codes and the Entra token endpoints.
//!
//! Flow of one ARM request: [`arm_dispatch`] reads the body (bounded),
//! checks `api-version`, authenticates the bearer token, maps (method, path)
//! to an [`operation::Operation`] and runs it against `keyrotor-core` on the
//! blocking pool. Every failure becomes an [`error::ArmError`], rendered by
//! the single table in `error.rs`.

pub mod dto;
pub mod endpoints;
pub mod error;
pub mod login;
pub mod operation;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyrotor_core::rbac::{is_ancestor_or_self, normalize_scope, Authorizer};
use keyrotor_core::{AccountSpec, Actor, Directory, KeyUsage, Keyrotor, LocalAuth, UsageRecorder};
use keyrotor_identity::{IssuerCell, TokenIssuer};
use keyrotor_types::{AccountKind, AccountName, ResourceGroupName, SubscriptionId};
use serde_json::{json, Value};

pub use endpoints::Endpoints;
use error::{ArmError, ArmResult};
use operation::{AccountPath, Operation, Unrouted};

/// Largest request body accepted by the control plane.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the control plane needs, built once at start-up.
pub struct ArmState {
    pub core: Arc<Keyrotor>,
    /// Data-plane usage not yet flushed; flushed before usage is read.
    pub usage: Arc<UsageRecorder>,
    pub dir: Directory,
    pub endpoints: Endpoints,
    issuer: Arc<IssuerCell>,
    /// Further audiences the token endpoint issues for (the data planes').
    extra_audience: Box<dyn Fn(&str) -> bool + Send + Sync>,
    /// `--test-clock`: rotation-policy runs may name the time they run at.
    pub test_clock: bool,
    /// The signing-key epoch (`Keyrotor::change_epoch(Signing)`) the issuer
    /// in `issuer` was built at.
    issuer_epoch: std::sync::atomic::AtomicU64,
}

/// ARM audiences accepted besides the service's own URL.
const ARM_AUDIENCES: [&str; 4] = [
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
];

impl ArmState {
    pub fn new(
        core: Arc<Keyrotor>,
        usage: Arc<UsageRecorder>,
        dir: Directory,
        endpoints: Endpoints,
        issuer: TokenIssuer,
    ) -> Self {
        let signing_epoch = core.change_epoch(keyrotor_core::ChangeDomain::Signing);
        Self {
            core,
            usage,
            dir,
            endpoints,
            issuer: Arc::new(IssuerCell::new(issuer)),
            extra_audience: Box::new(|_| false),
            test_clock: false,
            // Built from the keys of this epoch or a later one: a sync
            // afterwards rebuilds at most once for nothing.
            issuer_epoch: std::sync::atomic::AtomicU64::new(signing_epoch),
        }
    }

    /// Lets rotation-policy runs name the time they run at (tests only).
    pub fn with_test_clock(mut self, on: bool) -> Self {
        self.test_clock = on;
        self
    }

    /// The `iss` of every token this service issues.
    pub fn issuer_name(&self) -> String {
        format!("{}/{}/v2.0", self.endpoints.arm(), self.dir.tenant_id)
    }

    pub fn issuer(&self) -> Arc<TokenIssuer> {
        self.issuer.get()
    }

    /// The shared issuer cell (the data planes verify with it too).
    pub fn issuer_cell(&self) -> Arc<IssuerCell> {
        self.issuer.clone()
    }

    /// Replaces the token issuer (signing-key rotation).
    pub fn set_issuer(&self, issuer: TokenIssuer) {
        self.issuer.set(issuer);
    }

    /// Rebuilds the token issuer from the stored signing keys when they
    /// changed since it was built (rotated by another node sharing the
    /// store): blocking, for the server's change poller. Returns whether it
    /// was rebuilt.
    pub fn sync_issuer(&self) -> ArmResult<bool> {
        use std::sync::atomic::Ordering;
        let epoch = self.core.change_epoch(keyrotor_core::ChangeDomain::Signing);
        if self.issuer_epoch.load(Ordering::Acquire) == epoch {
            return Ok(false);
        }
        let keys = self.core.signing_keys(|| {
            Err(keyrotor_core::Error::InvalidInput(
                "no signing key is stored".into(),
            ))
        })?;
        let pairs: Vec<(String, &[u8])> = keys
            .iter()
            .map(|k| (k.kid.clone(), k.pkcs8.as_slice()))
            .collect();
        let issuer = TokenIssuer::new(self.issuer_name(), &pairs)
            .map_err(|e| ArmError::Internal(e.to_string()))?;
        self.issuer.set(issuer);
        self.issuer_epoch.store(epoch, Ordering::Release);
        Ok(true)
    }

    /// Lets the token endpoint issue tokens for more audiences.
    pub fn with_extra_audiences(
        mut self,
        accept: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.extra_audience = Box::new(accept);
        self
    }

    /// Whether the token endpoint issues tokens for `audience`.
    pub fn issues_for(&self, audience: &str) -> bool {
        self.known_audiences().iter().any(|a| a == audience) || (self.extra_audience)(audience)
    }

    /// Audiences for which tokens are issued and accepted by the control plane.
    pub fn known_audiences(&self) -> Vec<String> {
        let own = self.endpoints.arm().to_string();
        let mut v: Vec<String> = ARM_AUDIENCES.iter().map(|s| s.to_string()).collect();
        v.push(format!("{own}/"));
        v.push(own);
        v
    }

    /// Verifies an ARM bearer token; returns the caller's client id.
    fn authenticate(&self, req: &http::request::Parts) -> ArmResult<String> {
        let Some(value) = req.headers.get(http::header::AUTHORIZATION) else {
            return Err(ArmError::MissingToken);
        };
        let mut all = req.headers.get_all(http::header::AUTHORIZATION).iter();
        all.next();
        if all.next().is_some() {
            return Err(ArmError::InvalidToken(
                "more than one Authorization header".into(),
            ));
        }
        let value = value.to_str().map_err(|_| {
            ArmError::InvalidToken("the Authorization header is not valid text".into())
        })?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ArmError::InvalidToken("the Authorization header must use the Bearer scheme".into())
            })?
            .trim();
        let audiences = self.known_audiences();
        let aud: Vec<&str> = audiences.iter().map(String::as_str).collect();
        let claims = self
            .issuer()
            .verify(token, &aud, self.core.now())
            .map_err(|e| ArmError::InvalidToken(e.to_string()))?;
        if claims.tid != self.dir.tenant_id {
            return Err(ArmError::InvalidToken(
                "the token was issued for another tenant".into(),
            ));
        }
        Ok(claims.appid)
    }
}

/// The control-plane router: token issuer endpoints plus the ARM fallback.
pub fn router(state: Arc<ArmState>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(login::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(login::jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(login::token))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(login::authorize).post(login::authorize),
        )
        .route("/metadata/endpoints", get(metadata_endpoints))
        .fallback(arm_dispatch)
        .with_state(state)
}

/// The cloud metadata document that `az cloud register` reads
/// (`GET {arm}/metadata/endpoints`). No authentication, as in Azure.
async fn metadata_endpoints(State(st): State<Arc<ArmState>>) -> Response {
    let url = st.endpoints.arm();
    // Where vaults really live (`{vault}.vault.localhost:PORT` by default),
    // so that `az keyvault … --vault-name` reaches this service.
    let vault_suffix = format!("{}{}", st.endpoints.vault_suffix(), st.endpoints.port);
    Json(json!({
        "name": "keyrotor",
        "portal": url,
        "authentication": {
            "loginEndpoint": url,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": st.dir.tenant_id,
            "identityProvider": "AAD"
        },
        "resourceManager": format!("{url}/"),
        "batch": "https://batch.core.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "suffixes": {
            "keyVaultDns": vault_suffix,
            "storage": "core.windows.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net"
        }
    }))
    .into_response()
}

/// How much of an oversized body is read and discarded before answering 413,
/// so that a client still sending gets the answer instead of a reset.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;

/// Reads a request body of at most `limit` bytes.
async fn read_body(body: Body, limit: usize) -> ArmResult<bytes::Bytes> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ArmError::InvalidRequestContent(format!("the request body could not be read: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                break;
            }
            if seen <= limit {
                buf.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(ArmError::TooLarge(limit));
    }
    Ok(buf.freeze())
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.into_owned())
}

/// Entry point for every ARM request.
pub async fn arm_dispatch(State(st): State<Arc<ArmState>>, req: Request) -> Response {
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let mut resp = match arm_dispatch_inner(st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let request_id = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok();
    let h = resp.headers_mut();
    if let Some(id) = request_id {
        h.insert("x-ms-request-id", id.clone());
        h.insert("x-ms-correlation-request-id", id);
    }
    if let Some(id) = client_request_id {
        h.insert("x-ms-client-request-id", id);
    }
    resp
}

async fn arm_dispatch_inner(st: Arc<ArmState>, req: Request) -> ArmResult<Response> {
    let (parts, body) = req.into_parts();
    if operation::has_dot_segment(parts.uri.path()) {
        return Err(ArmError::DotSegment(
            parts.uri.path().chars().take(200).collect(),
        ));
    }
    let segments = operation::split_path(parts.uri.path())
        .ok_or_else(|| ArmError::NoRoute(parts.uri.path().chars().take(200).collect()))?;
    // Authenticate first: unauthenticated callers learn nothing about routes.
    let actor = st.authenticate(&parts)?;
    let body = read_body(body, MAX_BODY_BYTES).await?;
    let op = Operation::parse(&parts.method, &segments).map_err(|u| match u {
        Unrouted::NoRoute => ArmError::NoRoute(parts.uri.path().chars().take(200).collect()),
        Unrouted::MethodNotAllowed => ArmError::MethodNotAllowed(parts.method.to_string()),
        Unrouted::NotImplemented(what) => ArmError::NotImplemented(what),
    })?;
    if query_param(parts.uri.query(), "api-version").is_none_or(|v| v.is_empty()) {
        return Err(ArmError::MissingApiVersion);
    }
    let is_head = parts.method == Method::HEAD;
    let st2 = st.clone();
    let query = Query {
        force: query_param(parts.uri.query(), "force")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        filter: query_param(parts.uri.query(), "$filter"),
        guard_window: query_param(parts.uri.query(), "guardWindow"),
    };
    let resp = tokio::task::spawn_blocking(move || {
        let access = authorize(&st2, &actor, &op)?;
        handle(&st2, &Actor(actor), &access, op, &body, &query)
    })
    .await
    .map_err(|e| ArmError::Internal(e.to_string()))??;
    if is_head {
        let (p, _) = resp.into_parts();
        return Ok(Response::from_parts(p, Body::empty()));
    }
    Ok(resp)
}

/// Query parameters the handlers act on.
struct Query {
    force: bool,
    /// OData `$filter` (role assignments and definitions).
    filter: Option<String>,
    /// keyrotor's `guardWindow` (an ISO 8601 duration such as `PT15M`):
    /// refuse a regeneration, or switching key auth off, while a key it
    /// affects was used within it (unless `force=true`).
    guard_window: Option<String>,
}

impl Query {
    /// The window the caller asked to guard with, if any (not with force).
    fn guard_window(&self, now: time::OffsetDateTime) -> ArmResult<Option<time::Duration>> {
        let Some(text) = self.guard_window.as_deref().filter(|_| !self.force) else {
            return Ok(None);
        };
        let bad = || {
            ArmError::InvalidParameter(format!(
                "'guardWindow' must be an ISO 8601 duration such as PT15M or P7D, at most P{}D",
                keyrotor_core::usage::RETENTION_DAYS
            ))
        };
        let since = keyrotor_core::vault::IsoDuration::parse(text)
            .and_then(|d| d.before(now))
            .ok_or_else(bad)?;
        let window = now - since;
        keyrotor_core::guard::Guard::check_window(window).map_err(|_| bad())?;
        Ok(Some(window))
    }
}

/// The guard of a regeneration: the longer of the account's
/// `regenerationGuardMinutes` and the request's `guardWindow`; none with
/// `force=true`.
fn regeneration_guard<'a>(
    st: &'a ArmState,
    a: &keyrotor_core::Account,
    query: &Query,
) -> ArmResult<Option<keyrotor_core::guard::Guard<'a>>> {
    if query.force {
        return Ok(None);
    }
    let account = a
        .settings
        .regeneration_guard_minutes
        .map(|m| time::Duration::minutes(i64::from(m)));
    let asked = query.guard_window(st.core.now())?;
    Ok(account
        .into_iter()
        .chain(asked)
        .max()
        .map(|window| keyrotor_core::guard::Guard {
            window,
            recorder: &st.usage,
        }))
}

/// What the caller may see of a list it asked for.
enum Access {
    /// Authorized for the operation as asked.
    Full,
    /// A list at a scope where the caller has no read right: only the items
    /// it may read are returned.
    Filtered(Arc<Authorizer>, String),
}

impl Access {
    fn may_read(&self, scope: &str, action: &str) -> bool {
        match self {
            Access::Full => true,
            Access::Filtered(z, who) => {
                normalize_scope(scope).is_some_and(|s| z.allows(who, &s, action))
            }
        }
    }
}

/// Evaluates the caller's role assignments for the operation at its scope
/// (the one place where control-plane permissions are enforced).
fn authorize(st: &ArmState, actor: &str, op: &Operation) -> ArmResult<Access> {
    let Some(scope) = op.scope() else {
        return Ok(Access::Full);
    };
    let action = op.required_action();
    let key = normalize_scope(&scope).ok_or_else(|| ArmError::NoRoute(scope.clone()))?;
    let z = st.core.authorizer()?;
    if z.allows(actor, &key, &action) {
        Ok(Access::Full)
    } else if op.filters_results() {
        Ok(Access::Filtered(z, actor.to_string()))
    } else {
        Err(ArmError::AuthorizationFailed {
            principal: actor.to_string(),
            action,
            scope,
        })
    }
}

/// The subscription named in a path, which must be this service's one.
fn own_subscription(dir: &Directory, s: &str) -> ArmResult<SubscriptionId> {
    let sub = sub_id(s)?;
    if sub != dir.subscription_id {
        return Err(
            keyrotor_core::Error::SubscriptionNotFound(s.chars().take(64).collect()).into(),
        );
    }
    Ok(sub)
}

fn sub_id(s: &str) -> ArmResult<SubscriptionId> {
    SubscriptionId::parse(s).map_err(|_| {
        keyrotor_core::Error::SubscriptionNotFound(s.chars().take(64).collect()).into()
    })
}

/// Group names in a path: an invalid name cannot exist, so reads answer 404.
fn group_name_for_read(s: &str) -> ArmResult<ResourceGroupName> {
    ResourceGroupName::parse(s)
        .map_err(|_| keyrotor_core::Error::GroupNotFound(s.chars().take(90).collect()).into())
}

fn account_name_for_read(p: &AccountPath) -> ArmResult<AccountName> {
    AccountName::parse(p.kind, &p.name).map_err(|_| {
        keyrotor_core::Error::AccountNotFound {
            kind: p.kind,
            name: p.name.chars().take(64).collect(),
        }
        .into()
    })
}

fn ok_json(status: StatusCode, v: Value) -> ArmResult<Response> {
    Ok((status, Json(v)).into_response())
}

fn empty(status: StatusCode) -> ArmResult<Response> {
    Ok(status.into_response())
}

/// Usage of the account's keys including what is not flushed yet
/// (Cosmos only: its keysMetadata carries last-used times).
fn usage_for(st: &ArmState, a: &keyrotor_core::Account) -> ArmResult<Vec<KeyUsage>> {
    if a.kind != AccountKind::Cosmos {
        return Ok(Vec::new());
    }
    current_usage(st, a)
}

fn current_usage(st: &ArmState, a: &keyrotor_core::Account) -> ArmResult<Vec<KeyUsage>> {
    if let Err(e) = st.core.flush_usage(&st.usage) {
        tracing::warn!(error = %e, "usage flush before read failed");
    }
    Ok(st.core.key_usage(a)?)
}

fn handle(
    st: &ArmState,
    actor: &Actor,
    access: &Access,
    op: Operation,
    body: &[u8],
    query: &Query,
) -> ArmResult<Response> {
    let core = &st.core;
    let dir = &st.dir;
    match op {
        Operation::SubscriptionsList => {
            let sub_scope = keyrotor_core::rbac::subscription_scope(&dir.subscription_id);
            let visible = access.may_read(&sub_scope, "Microsoft.Resources/subscriptions/read");
            let value: Vec<Value> = if visible {
                vec![dto::subscription(dir)]
            } else {
                Vec::new()
            };
            let n = value.len();
            ok_json(
                StatusCode::OK,
                json!({ "value": value, "count": { "type": "Total", "value": n } }),
            )
        }
        Operation::SubscriptionsGet { subscription } => {
            own_subscription(dir, &subscription)?;
            ok_json(StatusCode::OK, dto::subscription(dir))
        }
        // Every provider is registered: keyrotor never asks clients to register one.
        Operation::ProvidersGet {
            subscription,
            namespace,
        }
        | Operation::ProvidersRegister {
            subscription,
            namespace,
        } => {
            let sub = own_subscription(dir, &subscription)?;
            ok_json(StatusCode::OK, provider(&sub, &namespace))
        }
        Operation::ResourceGroupsList { subscription } => {
            let sub = sub_id(&subscription)?;
            let groups = core.groups(dir, &sub)?;
            let value: Vec<Value> = groups
                .iter()
                .filter(|g| {
                    access.may_read(
                        &keyrotor_core::rbac::group_scope(&g.subscription, &g.name),
                        "Microsoft.Resources/subscriptions/resourceGroups/read",
                    )
                })
                .map(dto::resource_group)
                .collect();
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::ResourceGroupsCreateOrUpdate {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let name = ResourceGroupName::parse(&group).map_err(keyrotor_core::Error::from)?;
            let body = dto::json_object(body)?;
            let location = dto::string_field(&body, "location")?
                .ok_or_else(|| ArmError::InvalidParameter("'location' is required".into()))?;
            let tags = dto::tags(&body)?.unwrap_or_default();
            let (g, created) = core.put_group(dir, actor, &sub, &name, &location, tags)?;
            ok_json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                dto::resource_group(&g),
            )
        }
        Operation::ResourceGroupsGet {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let g = core.group(dir, &sub, &group_name_for_read(&group)?)?;
            ok_json(StatusCode::OK, dto::resource_group(&g))
        }
        Operation::ResourceGroupsCheckExistence {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let found = match ResourceGroupName::parse(&group) {
                Ok(name) => core
                    .group(dir, &sub, &name)
                    .map(|_| true)
                    .or_else(|e| match e {
                        keyrotor_core::Error::GroupNotFound(_) => Ok(false),
                        other => Err(other),
                    })?,
                Err(_) => false,
            };
            empty(if found {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::NOT_FOUND
            })
        }
        Operation::ResourceGroupsUpdate {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let name = group_name_for_read(&group)?;
            let body = dto::json_object(body)?;
            let current = core.group(dir, &sub, &name)?;
            let tags = dto::tags(&body)?.unwrap_or(current.tags);
            let (g, _) = core.put_group(dir, actor, &sub, &name, &current.location, tags)?;
            ok_json(StatusCode::OK, dto::resource_group(&g))
        }
        Operation::ResourceGroupsDelete {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            core.delete_group(dir, actor, &sub, &group_name_for_read(&group)?)?;
            empty(StatusCode::OK)
        }
        Operation::AccountsList {
            kind,
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let group = group.as_deref().map(group_name_for_read).transpose()?;
            let accounts = core.accounts(dir, kind, &sub, group.as_ref())?;
            let (ns, ty) = keyrotor_core::rbac::provider_of(kind);
            let read = format!("{ns}/{ty}/read");
            let accounts: Vec<_> = accounts
                .into_iter()
                .filter(|a| {
                    access.may_read(
                        &keyrotor_core::rbac::account_scope(
                            a.kind,
                            &a.subscription,
                            &a.resource_group,
                            &a.name,
                        ),
                        &read,
                    )
                })
                .collect();
            let mut value = Vec::with_capacity(accounts.len());
            for a in &accounts {
                let keys = core.key_info(a)?;
                let usage = if a.kind == AccountKind::Cosmos {
                    core.key_usage(a)?
                } else {
                    Vec::new()
                };
                value.push(dto::account(
                    a,
                    &keys,
                    &usage,
                    &st.endpoints,
                    &dir.admin_client_id,
                ));
            }
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::AccountsCreate(p) => create_account(st, actor, &p, body),
        Operation::AccountsUpdate(p) => {
            let a = find_account(st, &p)?;
            let body = dto::json_object(body)?;
            let document = dto::merge_document(Some(dto::stored_document(&a)), &body)?;
            let tags = dto::tags(&body)?.unwrap_or_else(|| a.tags.clone());
            let settings = dto::settings(p.kind, &document)?;
            // Switching key auth off with a guard: refused while a key was
            // used within the window (its clients would break).
            if let Some(window) = query.guard_window(core.now())? {
                let now = core.unix_now();
                if settings.local_auth(now) == LocalAuth::Refused
                    && a.settings.local_auth(now) != LocalAuth::Refused
                {
                    let guard = keyrotor_core::guard::Guard {
                        window,
                        recorder: &st.usage,
                    };
                    core.ensure_idle(&a, a.kind.slots(), guard)?;
                }
            }
            let spec = AccountSpec {
                location: a.location.clone(),
                tags,
                document,
                settings,
            };
            let (a, _) = core.put_account(
                dir,
                actor,
                p.kind,
                &a.subscription,
                &a.resource_group,
                &a.name,
                spec,
            )?;
            let keys = core.key_info(&a)?;
            let usage = usage_for(st, &a)?;
            ok_json(
                StatusCode::OK,
                dto::account(&a, &keys, &usage, &st.endpoints, &actor.0),
            )
        }
        Operation::AccountsGet(p) => {
            let a = find_account(st, &p)?;
            let keys = core.key_info(&a)?;
            let usage = usage_for(st, &a)?;
            ok_json(
                StatusCode::OK,
                dto::account(&a, &keys, &usage, &st.endpoints, &dir.admin_client_id),
            )
        }
        Operation::AccountsListKeyUsage(p) => {
            let a = find_account(st, &p)?;
            let keys = core.key_info(&a)?;
            let usage = current_usage(st, &a)?;
            let mut v = dto::key_usage(&a, &keys, &usage, core.now());
            // With `guardWindow`: the guard's own verdict per key, the one
            // a regeneration or switching key auth off would reach.
            if let Some(window) = query.guard_window(core.now())? {
                let guard = keyrotor_core::guard::Guard {
                    window,
                    recorder: &st.usage,
                };
                let in_use = core.keys_in_use(&a, a.kind.slots(), guard)?;
                dto::mark_in_use(&mut v, a.kind, window, &in_use);
            }
            ok_json(StatusCode::OK, v)
        }
        Operation::AccountsDelete(p) => {
            let sub = sub_id(&p.subscription)?;
            let group = group_name_for_read(&p.resource_group)?;
            core.group(dir, &sub, &group)?;
            match find_account(st, &p) {
                Ok(a) => {
                    core.delete_account(actor, &a)?;
                    empty(delete_status(p.kind))
                }
                Err(ArmError::Core(keyrotor_core::Error::AccountNotFound { .. })) => {
                    empty(StatusCode::NO_CONTENT)
                }
                Err(e) => Err(e),
            }
        }
        Operation::AccountsListKeys(p) => {
            let a = find_account(st, &p)?;
            let keys = core.list_keys(&a)?;
            ok_json(StatusCode::OK, dto::keys(&a, &keys))
        }
        Operation::AccountsListReadOnlyKeys(p) => {
            let a = find_account(st, &p)?;
            let keys = core.list_keys(&a)?;
            ok_json(StatusCode::OK, dto::read_only_keys(&keys))
        }
        Operation::AccountsListConnectionStrings(p) => {
            let a = find_account(st, &p)?;
            let keys = core.list_keys(&a)?;
            ok_json(
                StatusCode::OK,
                dto::connection_strings(&a, &keys, &st.endpoints),
            )
        }
        Operation::AccountsRegenerateKey(p) => {
            let a = find_account(st, &p)?;
            let body = dto::json_object(body)?;
            let slot = dto::regenerate_slot(p.kind, &body)?;
            let guard = regeneration_guard(st, &a, query)?;
            let new = core.regenerate_key_guarded(actor, &a, slot, guard)?;
            match p.kind {
                // Cosmos: an LRO that returns no body; completed synchronously.
                AccountKind::Cosmos => empty(StatusCode::OK),
                // Batch and AI return the key pair: the regenerated slot with
                // the value this request wrote (a concurrent regeneration of
                // the same slot answers its own), the other slot as it is now.
                AccountKind::Batch | AccountKind::Ai => {
                    let mut keys: Vec<_> = core
                        .list_keys(&a)?
                        .into_iter()
                        .filter(|k| k.slot != slot)
                        .collect();
                    keys.push(new);
                    ok_json(StatusCode::OK, dto::keys(&a, &keys))
                }
            }
        }
        Operation::PrincipalsList => {
            let list: Vec<Value> = core
                .principals()?
                .iter()
                .map(|(p, secrets)| {
                    dto::principal(
                        p,
                        secrets,
                        &dir.tenant_id,
                        p.client_id == dir.admin_client_id,
                    )
                })
                .collect();
            ok_json(StatusCode::OK, json!({ "value": list }))
        }
        Operation::PrincipalsCreate => {
            let body = dto::json_object(body)?;
            let name = dto::string_field(&body, "displayName")?
                .ok_or_else(|| ArmError::InvalidParameter("'displayName' is required".into()))?;
            let expires = dto::secret_expiry(&body, core.now())?;
            let (p, meta, secret) = core.create_principal(actor, &name, expires)?;
            let mut v = dto::principal(&p, std::slice::from_ref(&meta), &dir.tenant_id, false);
            v["secret"] = dto::new_secret(&meta, &secret);
            ok_json(StatusCode::CREATED, v)
        }
        Operation::PrincipalsDelete { client_id } => {
            core.delete_principal(actor, &client_id)?;
            empty(StatusCode::OK)
        }
        Operation::PrincipalsAddSecret { client_id } => {
            let body = if body.is_empty() {
                serde_json::Map::new()
            } else {
                dto::json_object(body)?
            };
            let expires = dto::secret_expiry(&body, core.now())?;
            let (meta, secret) = core.add_principal_secret(actor, &client_id, expires)?;
            ok_json(StatusCode::OK, dto::new_secret(&meta, &secret))
        }
        Operation::PrincipalsRemoveSecret { client_id } => {
            let body = dto::json_object(body)?;
            let secret_id = dto::string_field(&body, "secretId")?
                .ok_or_else(|| ArmError::InvalidParameter("'secretId' is required".into()))?;
            core.remove_principal_secret(actor, &client_id, &secret_id)?;
            empty(StatusCode::OK)
        }
        Operation::SigningKeysRotate => {
            // Old keys stay in the JWKS until every token they signed has expired.
            let overlap = time::Duration::seconds(login::TOKEN_LIFETIME_SECONDS + 600);
            let keys = core.rotate_signing_key(overlap, || {
                keyrotor_identity::generate_signing_key()
                    .map_err(|_| keyrotor_core::Error::Crypto(keyrotor_crypto::Error::Rng))
            })?;
            let pairs: Vec<(String, &[u8])> = keys
                .iter()
                .map(|k| (k.kid.clone(), k.pkcs8.as_slice()))
                .collect();
            let issuer = TokenIssuer::new(st.issuer_name(), &pairs)
                .map_err(|e| ArmError::Internal(e.to_string()))?;
            let epoch = core.change_epoch(keyrotor_core::ChangeDomain::Signing);
            st.set_issuer(issuer);
            st.issuer_epoch
                .store(epoch, std::sync::atomic::Ordering::Release);
            let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
            ok_json(
                StatusCode::OK,
                json!({ "signingKid": kids.last(), "jwksKids": kids }),
            )
        }
        Operation::RoleAssignmentsList { scope } => {
            let key = normalize_scope(&scope).ok_or_else(|| ArmError::NoRoute(scope.clone()))?;
            let filter = rbac_filter(query.filter.as_deref())?;
            let value: Vec<Value> = core
                .role_assignments()?
                .iter()
                .filter(|a| {
                    let Some(k) = normalize_scope(&a.scope) else {
                        return false;
                    };
                    let above = is_ancestor_or_self(&k, &key);
                    let below = is_ancestor_or_self(&key, &k);
                    let in_scope = if filter.at_scope {
                        above
                    } else {
                        above || below
                    };
                    in_scope
                        && filter
                            .principal
                            .as_deref()
                            .is_none_or(|p| a.principal_id.eq_ignore_ascii_case(p))
                })
                .map(|a| dto::role_assignment(a, &dir.subscription_id))
                .collect();
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::RoleAssignmentsCreate { scope, name } => {
            let body = dto::json_object(body)?;
            let props = body
                .get("properties")
                .and_then(Value::as_object)
                .ok_or_else(|| ArmError::InvalidParameter("'properties' is required".into()))?;
            let field = |f: &str| -> ArmResult<String> {
                match props.get(f) {
                    Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
                    Some(_) => Err(ArmError::InvalidParameter(format!(
                        "'properties.{f}' must be a non-empty string"
                    ))),
                    None => Err(ArmError::InvalidParameter(format!(
                        "'properties.{f}' is required"
                    ))),
                }
            };
            let role = field("roleDefinitionId")?;
            let principal = field("principalId")?;
            if let Some(t) = props.get("principalType").and_then(Value::as_str) {
                if !t.eq_ignore_ascii_case("ServicePrincipal") {
                    return Err(ArmError::InvalidParameter(format!(
                        "principalType '{}' is not supported: keyrotor has service principals only",
                        t.chars().take(40).collect::<String>()
                    )));
                }
            }
            let (a, created) =
                core.create_role_assignment(dir, actor, &name, &scope, &principal, &role)?;
            ok_json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                dto::role_assignment(&a, &dir.subscription_id),
            )
        }
        Operation::RoleAssignmentsGet { scope, name } => {
            let a = core.role_assignment(&name, &scope)?;
            ok_json(
                StatusCode::OK,
                dto::role_assignment(&a, &dir.subscription_id),
            )
        }
        Operation::RoleAssignmentsDelete { scope, name } => {
            match core.delete_role_assignment(actor, &name, &scope)? {
                Some(a) => ok_json(
                    StatusCode::OK,
                    dto::role_assignment(&a, &dir.subscription_id),
                ),
                None => empty(StatusCode::NO_CONTENT),
            }
        }
        Operation::RoleDefinitionsList { scope } => {
            let filter = rbac_filter(query.filter.as_deref())?;
            let value: Vec<Value> = keyrotor_core::rbac::BUILTIN_ROLES
                .iter()
                .filter(|r| {
                    filter
                        .role_name
                        .as_deref()
                        .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
                })
                .map(|r| dto::role_definition(r, &scope))
                .collect();
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::RoleDefinitionsGet { scope, id } => {
            let r = keyrotor_core::rbac::role_by_id(&id)
                .ok_or_else(|| keyrotor_core::Error::RoleNotFound(id.chars().take(64).collect()))?;
            ok_json(StatusCode::OK, dto::role_definition(r, &scope))
        }
        Operation::VaultsCreate(p) | Operation::VaultsUpdate(p) => {
            let sub = sub_id(&p.subscription)?;
            let group = group_name_for_read(&p.resource_group)?;
            let name =
                keyrotor_types::VaultName::parse(&p.name).map_err(keyrotor_core::Error::from)?;
            let body = dto::json_object(body)?;
            let props = match body.get("properties") {
                Some(Value::Object(m)) => m.clone(),
                None => serde_json::Map::new(),
                Some(_) => {
                    return Err(ArmError::InvalidParameter(
                        "'properties' must be an object".into(),
                    ))
                }
            };
            if props
                .get("createMode")
                .and_then(Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("recover"))
            {
                let v = core.recover_vault(actor, name.as_str())?;
                return ok_json(
                    StatusCode::OK,
                    dto::vault(&v, &st.endpoints, &dir.tenant_id),
                );
            }
            let existing = core.vault_in(&sub, &group, name.as_str()).ok();
            let spec = dto::vault_spec(&body, &props, existing.as_ref())?;
            let (v, created) = core.put_vault(dir, actor, &sub, &group, &name, spec)?;
            ok_json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                dto::vault(&v, &st.endpoints, &dir.tenant_id),
            )
        }
        Operation::VaultsGet(p) => {
            let v = core.vault_in(
                &sub_id(&p.subscription)?,
                &group_name_for_read(&p.resource_group)?,
                &p.name,
            )?;
            ok_json(
                StatusCode::OK,
                dto::vault(&v, &st.endpoints, &dir.tenant_id),
            )
        }
        Operation::VaultsDelete(p) => {
            let sub = sub_id(&p.subscription)?;
            let group = group_name_for_read(&p.resource_group)?;
            core.group(dir, &sub, &group)?;
            match core.vault_in(&sub, &group, &p.name) {
                Ok(v) => {
                    core.delete_vault(actor, &v)?;
                    empty(StatusCode::OK)
                }
                Err(keyrotor_core::Error::VaultNotFound(_)) => empty(StatusCode::NO_CONTENT),
                Err(e) => Err(e.into()),
            }
        }
        Operation::VaultsList {
            subscription,
            group,
        } => {
            let sub = sub_id(&subscription)?;
            let group = group.as_deref().map(group_name_for_read).transpose()?;
            if let Some(g) = &group {
                core.group(dir, &sub, g)?;
            }
            let value: Vec<Value> = core
                .vaults(&sub, group.as_ref())?
                .iter()
                .filter(|v| {
                    access.may_read(
                        &format!(
                            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
                            v.subscription, v.resource_group, v.name
                        ),
                        "Microsoft.KeyVault/vaults/read",
                    )
                })
                .map(|v| dto::vault(v, &st.endpoints, &dir.tenant_id))
                .collect();
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::VaultsListDeleted { subscription } => {
            own_subscription(dir, &subscription)?;
            let value: Vec<Value> = core
                .deleted_vaults()?
                .iter()
                .map(dto::deleted_vault)
                .collect();
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::VaultsGetDeleted { subscription, name } => {
            own_subscription(dir, &subscription)?;
            ok_json(
                StatusCode::OK,
                dto::deleted_vault(&core.deleted_vault(&name)?),
            )
        }
        Operation::VaultsPurgeDeleted { subscription, name } => {
            own_subscription(dir, &subscription)?;
            core.purge_vault(actor, &name)?;
            empty(StatusCode::OK)
        }
        Operation::ResourcesList { subscription } => {
            let sub = sub_id(&subscription)?;
            let wanted = match query.filter.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(f) => {
                    let prefix = "resourceType eq ";
                    let ty = f
                        .get(..prefix.len())
                        .filter(|p| p.eq_ignore_ascii_case(prefix))
                        .and_then(|_| f[prefix.len()..].trim().strip_prefix('\''))
                        .and_then(|t| t.strip_suffix('\''))
                        .ok_or_else(|| {
                            ArmError::InvalidParameter(
                                "only $filter=resourceType eq '<type>' is supported".into(),
                            )
                        })?;
                    Some(ty.to_ascii_lowercase())
                }
            };
            let want = |ty: &str| wanted.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(ty));
            let mut value = Vec::new();
            if want("Microsoft.KeyVault/vaults") {
                for v in core.vaults(&sub, None)? {
                    let id = dto::vault_id(&v);
                    if access.may_read(&id, "Microsoft.KeyVault/vaults/read") {
                        value.push(json!({"id": id, "name": v.name.as_str(), "type": "Microsoft.KeyVault/vaults", "location": v.location, "tags": v.tags}));
                    }
                }
            }
            for kind in [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai] {
                let (ns, ty) = keyrotor_core::rbac::provider_of(kind);
                let full = format!("{ns}/{ty}");
                if !want(&full) {
                    continue;
                }
                for a in core.accounts(dir, kind, &sub, None)? {
                    let id = dto::account_id(&a);
                    if access.may_read(&id, &format!("{full}/read")) {
                        value.push(json!({"id": id, "name": a.name.as_str(), "type": full, "location": a.location, "tags": a.tags}));
                    }
                }
            }
            ok_json(StatusCode::OK, json!({ "value": value }))
        }
        Operation::RotationPoliciesRun => {
            let at = if body.is_empty() {
                None
            } else {
                dto::string_field(&dto::json_object(body)?, "at")?
            };
            let at = match at {
                None => core.now(),
                Some(_) if !st.test_clock => {
                    return Err(ArmError::InvalidParameter(
                        "'at' is accepted only by a server started with --test-clock".into(),
                    ))
                }
                Some(t) => {
                    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            ArmError::InvalidParameter("'at' must be an RFC 3339 time".into())
                        })?
                }
            };
            let rotated: Vec<Value> = core
                .run_rotation_policies(at)?
                .into_iter()
                .map(
                    |(vault, key, version)| json!({"vault": vault, "key": key, "version": version}),
                )
                .collect();
            ok_json(StatusCode::OK, json!({ "rotated": rotated }))
        }
        Operation::CheckNameExists { kind, name } => {
            let exists = match AccountName::parse(kind, &name) {
                Ok(n) => core.account_by_name(kind, &n)?.is_some(),
                Err(_) => false,
            };
            empty(if exists {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            })
        }
    }
}

/// The OData filters ARM clients send for role assignments and definitions:
/// `atScope()`, `principalId eq '…'`, `roleName eq '…'`, joined by `and`.
#[derive(Default)]
struct RbacFilter {
    at_scope: bool,
    principal: Option<String>,
    role_name: Option<String>,
}

fn rbac_filter(filter: Option<&str>) -> ArmResult<RbacFilter> {
    let mut out = RbacFilter::default();
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    for clause in f.split(" and ") {
        let c = clause.trim();
        if c.eq_ignore_ascii_case("atScope()") {
            out.at_scope = true;
            continue;
        }
        let quoted = |prefix: &str| -> Option<String> {
            let rest = c
                .get(..prefix.len())?
                .eq_ignore_ascii_case(prefix)
                .then(|| &c[prefix.len()..])?;
            let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some(v.to_string())
        };
        if let Some(v) = quoted("principalId eq ") {
            out.principal = Some(v);
        } else if let Some(v) = quoted("roleName eq ") {
            out.role_name = Some(v);
        } else {
            return Err(ArmError::InvalidParameter(format!(
                "the $filter clause '{}' is not supported (atScope(), principalId eq '…', roleName eq '…')",
                c.chars().take(100).collect::<String>()
            )));
        }
    }
    Ok(out)
}

/// Success status of an account DELETE that completed synchronously: one
/// every SDK accepts (Cosmos takes only 202/204).
fn delete_status(kind: AccountKind) -> StatusCode {
    match kind {
        AccountKind::Cosmos => StatusCode::NO_CONTENT,
        AccountKind::Batch | AccountKind::Ai => StatusCode::OK,
    }
}

fn provider(sub: &SubscriptionId, namespace: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/providers/{namespace}"),
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": []
    })
}

fn find_account(st: &ArmState, p: &AccountPath) -> ArmResult<keyrotor_core::Account> {
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    let name = account_name_for_read(p)?;
    Ok(st.core.account_in(&st.dir, p.kind, &sub, &group, &name)?)
}

fn create_account(
    st: &ArmState,
    actor: &Actor,
    p: &AccountPath,
    body: &[u8],
) -> ArmResult<Response> {
    let sub = sub_id(&p.subscription)?;
    let group = group_name_for_read(&p.resource_group)?;
    let name = AccountName::parse(p.kind, &p.name).map_err(keyrotor_core::Error::from)?;
    let body = dto::json_object(body)?;
    let location = dto::string_field(&body, "location")?
        .ok_or_else(|| ArmError::InvalidParameter("'location' is required".into()))?;
    let props = match body.get("properties") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ArmError::InvalidRequestContent(
                "'properties' must be an object".into(),
            ))
        }
    };
    match p.kind {
        AccountKind::Cosmos => {
            match props.get("databaseAccountOfferType") {
                Some(Value::String(s)) if s == "Standard" => {}
                Some(_) => {
                    return Err(ArmError::InvalidParameter(
                        "'properties.databaseAccountOfferType' must be 'Standard'".into(),
                    ))
                }
                None => {
                    return Err(ArmError::InvalidParameter(
                        "'properties.databaseAccountOfferType' is required".into(),
                    ))
                }
            }
            if let Some(k) = body.get("kind") {
                if !matches!(k.as_str(), Some("GlobalDocumentDB" | "MongoDB" | "Parse")) {
                    return Err(ArmError::InvalidParameter(
                        "'kind' must be one of GlobalDocumentDB, MongoDB, Parse".into(),
                    ));
                }
            }
        }
        AccountKind::Batch => {}
        AccountKind::Ai => {
            if dto::string_field(&body, "kind")?.is_none_or(|k| k.is_empty()) {
                return Err(ArmError::InvalidParameter(
                    "'kind' is required (for example 'AIServices')".into(),
                ));
            }
            match body.get("sku") {
                Some(Value::Object(s)) if s.get("name").is_some_and(Value::is_string) => {}
                _ => {
                    return Err(ArmError::InvalidParameter(
                        "'sku.name' is required (for example 'S0')".into(),
                    ))
                }
            }
        }
    }
    if let Some(v) = props.get("disableLocalAuth") {
        if !v.is_boolean() {
            return Err(ArmError::InvalidRequestContent(
                "'properties.disableLocalAuth' must be a boolean".into(),
            ));
        }
    }
    let existing = st.core.account_by_name(p.kind, &name)?;
    let current_doc = existing
        .as_ref()
        .filter(|a| a.subscription == sub && a.resource_group.key() == group.key())
        .map(dto::stored_document);
    // A PUT replaces the client's properties; read-only ones are recomputed on read.
    let document = dto::merge_document(
        current_doc.map(|mut d| {
            d.remove("properties");
            d
        }),
        &body,
    )?;
    let settings = dto::settings(p.kind, &document)?;
    let spec = AccountSpec {
        location,
        tags: dto::tags(&body)?.unwrap_or_default(),
        document,
        settings,
    };
    let (a, created) = st
        .core
        .put_account(&st.dir, actor, p.kind, &sub, &group, &name, spec)?;
    let keys = st.core.key_info(&a)?;
    let usage = usage_for(st, &a)?;
    let status = match (p.kind, created) {
        (AccountKind::Ai, true) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    ok_json(
        status,
        dto::account(&a, &keys, &usage, &st.endpoints, &actor.0),
    )
}
