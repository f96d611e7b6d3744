//! The account data planes' request pipeline, written once, in the order
//! every one of them runs it:
//!
//! 1. **the account**: its keys, settings and scope (cached per thread,
//!    [`DataPlane::entry`]); an unknown account, or one storage cannot
//!    serve, is refused first;
//! 2. **what the request asks and presents** ([`Service::present`]): the
//!    service resolves its operation and reads its credential in one pass
//!    over the headers, refusing a request it cannot read;
//! 3. **the credential**: a bearer token is verified (signature, issuer,
//!    expiry, tenant, an audience of this service and account:
//!    [`DataPlane::verify_bearer`]), then its principal needs a data role
//!    granting the operation's data action at the account
//!    ([`DataPlane::authorize_data`]); a key is verified by the service's
//!    scheme ([`Presented::verify_key`]), then admitted by the account's
//!    key-auth mode and the restored-state check, and its use recorded
//!    ([`DataPlane::admit`]);
//! 4. **the operation**: what needs no storage is answered at once
//!    ([`Presented::finish`]: the Cosmos account read, the 501s, the AI
//!    path checks), the rest is served by [`Service::serve`], boxed so that
//!    the paths above do not carry (and move) its large future.
//!
//! A service plugs in its scheme (step 2 and the key check of step 3), its
//! operations (step 4) and its error shape ([`Service::refuse`] words the
//! pipeline's own [`Refusal`]s). The Key Vault data plane shares step 3's
//! bearer verification and role check but not this order: it answers the
//! challenge before it looks anything up (`vault/mod.rs`).

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::Request;
use keyrotor_core::Error as CoreError;
use keyrotor_types::KeySlot;

use crate::{Admission, DataPlane, Entry, Target, TokenError};

/// The credential a request presents.
pub(crate) enum Credential<'a> {
    /// An Entra ID bearer token (the JWT).
    Bearer(&'a str),
    /// A key, in the service's scheme (master-key token, SharedKey,
    /// api-key): [`Presented::verify_key`] checks it.
    Key,
}

/// What the pipeline itself refuses; each service words it in its own
/// shape ([`Service::refuse`]).
#[derive(Debug)]
pub(crate) enum Refusal {
    /// There is no such account.
    NoAccount,
    /// Storage could not serve the account, or its keys did not decrypt.
    Core(CoreError),
    /// The bearer token did not verify.
    Token(TokenError),
    /// The token's principal holds no data role granting `action` at the
    /// account (`scope`, ARM spelling).
    NotAuthorized {
        principal: String,
        action: Cow<'static, str>,
        scope: String,
    },
    /// A key authenticated, but key authentication is off for the account.
    LocalAuthDisabled,
    /// A key authenticated that was replaced after the backup the
    /// database was restored from (no Retry-After: it lasts until the slot
    /// is regenerated).
    RestoredStateRequiresRotation,
}

/// What step 4 does with an admitted request.
pub(crate) enum Next<Op> {
    /// The answer, given without storage.
    Answer(Response),
    /// An operation for [`Service::serve`].
    Serve(Op),
}

/// One account data plane's part in the pipeline.
pub(crate) trait Service {
    /// A refusal in the service's error shape.
    type Error: IntoResponse;
    /// What a request asks and presents, read from (and borrowing) it.
    type Presented<'r>: Presented<Error = Self::Error, Op = Self::Op>;
    /// An admitted operation that needs storage or the network; owned, it
    /// outlives the borrowed request.
    type Op: Send;

    /// Words a refusal of the pipeline for this request.
    fn refuse(t: &Target, req: &Request<Body>, why: Refusal) -> Self::Error;

    /// Step 2: the operation and the credential.
    fn present<'r>(
        t: &'r Target,
        req: &'r Request<Body>,
    ) -> Result<Self::Presented<'r>, Self::Error>;

    /// Step 4, for what needs storage or the upstream.
    fn serve(
        dp: &Arc<DataPlane>,
        entry: Arc<Entry>,
        t: Target,
        op: Self::Op,
        req: Request<Body>,
    ) -> impl Future<Output = Response> + Send;
}

/// A request as its service read it (step 2).
pub(crate) trait Presented {
    type Error;
    type Op;

    fn credential(&self) -> Credential<'_>;

    /// The data action a bearer token's principal needs (only asked for
    /// bearer tokens).
    fn data_action(&self) -> Cow<'static, str>;

    /// Checks the key credential against the account's current keys at
    /// `now` (Unix seconds); the slot that matched.
    fn verify_key(&self, entry: &Entry, now: i64) -> Result<KeySlot, Self::Error>;

    /// The client's user agent, for the usage record.
    fn user_agent(&self) -> &str;

    /// Step 4 for an admitted request: an answer that needs no storage, or
    /// the operation to serve.
    fn finish(self, entry: &Entry, t: &Target) -> Result<Next<Self::Op>, Self::Error>;
}

/// Serves one request of an account data plane through the pipeline.
pub(crate) async fn run<S: Service>(
    dp: &Arc<DataPlane>,
    t: Target,
    req: Request<Body>,
) -> Response {
    // 1. The account.
    let entry = match dp.entry(t.kind, t.account()).await {
        Ok(Some(e)) => e,
        Ok(None) => return S::refuse(&t, &req, Refusal::NoAccount).into_response(),
        Err(e) => return S::refuse(&t, &req, Refusal::Core(e)).into_response(),
    };
    // 2-4, without I/O.
    let op = match admit::<S>(dp, &entry, &t, &req) {
        Ok(Next::Serve(op)) => op,
        Ok(Next::Answer(r)) => return r,
        Err(e) => return e.into_response(),
    };
    Box::pin(S::serve(dp, entry, t, op, req)).await
}

/// Steps 2 to 4 of [`run`] (no I/O). Inlined into each service's `run`:
/// left to the compiler it stayed a call and cost the in-process api-key
/// handler about 4 % (`cargo bench -p keyrotor-dataplane --bench verify`,
/// 2026-12).
#[inline(always)]
fn admit<S: Service>(
    dp: &DataPlane,
    entry: &Entry,
    t: &Target,
    req: &Request<Body>,
) -> Result<Next<S::Op>, S::Error> {
    // 2. What the request asks and presents.
    let p = S::present(t, req)?;
    // 3. The credential.
    match p.credential() {
        Credential::Bearer(token) => {
            let principal = dp
                .verify_bearer(t.kind, t.account(), token)
                .map_err(|e| S::refuse(t, req, Refusal::Token(e)))?;
            let action = p.data_action();
            if !dp.authorize_data(entry, &principal, &action) {
                return Err(S::refuse(
                    t,
                    req,
                    Refusal::NotAuthorized {
                        principal,
                        action,
                        scope: DataPlane::scope_of(entry),
                    },
                ));
            }
        }
        Credential::Key => {
            let now = dp.core().unix_now();
            let slot = p.verify_key(entry, now)?;
            match dp.admit(entry, slot, p.user_agent(), t.peer, now) {
                Admission::Admitted => {}
                Admission::LocalAuthDisabled => {
                    return Err(S::refuse(t, req, Refusal::LocalAuthDisabled))
                }
                Admission::RestoredStateRequiresRotation => {
                    return Err(S::refuse(t, req, Refusal::RestoredStateRequiresRotation))
                }
            }
        }
    }
    // 4. The operation.
    p.finish(entry, t)
}
