//! [`ArmState`]: what the control plane is built from, the audiences it
//! issues and accepts tokens for, bearer-token authentication, and keeping
//! the token issuer in step with the stored signing keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use keyrotor_core::{Directory, Keyrotor, UsageRecorder};
use keyrotor_identity::{IssuerCell, TokenIssuer};

use crate::endpoints::Endpoints;
use crate::error::{ArmError, ArmResult};

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
    issuer_epoch: AtomicU64,
}

/// Azure's Microsoft Graph resource.
const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com/";

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
            issuer_epoch: AtomicU64::new(signing_epoch),
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

    /// Replaces the token issuer with one built from the signing keys of
    /// `epoch` (`Keyrotor::change_epoch(Signing)`), and records that epoch.
    pub(crate) fn set_issuer_at(&self, issuer: TokenIssuer, epoch: u64) {
        self.set_issuer(issuer);
        self.issuer_epoch.store(epoch, Ordering::Release);
    }

    /// Rebuilds the token issuer from the stored signing keys when they
    /// changed since it was built (rotated by another node sharing the
    /// store): blocking, for the server's change poller. Returns whether it
    /// was rebuilt.
    pub fn sync_issuer(&self) -> ArmResult<bool> {
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
        self.known_audiences().iter().any(|a| a == audience)
            || self.graph_audiences().iter().any(|a| a == audience)
            || (self.extra_audience)(audience)
    }

    /// Audiences of Microsoft Graph tokens (accepted by `/graph` only, never
    /// by ARM): the Graph resource `{url}/graph/` (what az asks for) with or
    /// without the trailing slash, and Azure's `https://graph.microsoft.com`.
    pub fn graph_audiences(&self) -> Vec<String> {
        let own = self.endpoints.graph();
        vec![
            format!("{own}/"),
            own,
            GRAPH_AUDIENCE.to_string(),
            GRAPH_AUDIENCE.trim_end_matches('/').to_string(),
        ]
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
    pub(crate) fn authenticate(&self, req: &http::request::Parts) -> ArmResult<String> {
        self.authenticate_for(req, &self.known_audiences())
    }

    /// Verifies a bearer token issued for one of `audiences`; returns the
    /// caller's client id.
    pub(crate) fn authenticate_for(
        &self,
        req: &http::request::Parts,
        audiences: &[String],
    ) -> ArmResult<String> {
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
