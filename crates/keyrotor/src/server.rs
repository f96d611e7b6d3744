//! `keyrotor serve`: configuration, start-up, TLS listener, graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use keyrotor_arm::{ArmState, Endpoints};
use keyrotor_core::Keyrotor;
use keyrotor_crypto::RootKey;
use keyrotor_identity::TokenIssuer;
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::SystemClock;
use tower::ServiceExt;

use crate::fsutil::{check_private_file, write_private_file};
use crate::polled_timer::{polled_every, PolledTimer};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Directory holding the database, root key, TLS material and bootstrap credentials.
    #[arg(long, env = "KEYROTOR_DATA_DIR", default_value = "./keyrotor-data")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "KEYROTOR_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Base URL clients use to reach this service (default: https://LISTEN).
    #[arg(long, env = "KEYROTOR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// DNS suffix for host-name routing of data planes (ACCOUNT.documents.SUFFIX, ...).
    #[arg(long, env = "KEYROTOR_DNS_SUFFIX")]
    pub dns_suffix: Option<String>,
    /// PEM certificate chain to serve instead of the generated one (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (behind a TLS-terminating proxy, or for benchmarks). The
    /// official SDKs refuse bearer tokens over http, so ARM clients need TLS in front.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub no_tls: bool,
    /// Root key file (64 hex characters); default DATA_DIR/root.key, created if absent.
    /// The root key may instead be given in the environment variable KEYROTOR_ROOT_KEY.
    #[arg(long, env = "KEYROTOR_ROOT_KEY_FILE")]
    pub root_key_file: Option<PathBuf>,
    /// The key ledger: the newest key generations acknowledged, so that a
    /// database restored from a backup refuses the keys replaced since
    /// (default DATA_DIR/key-ledger). Keep it out of database backups; put
    /// it on another volume to survive a restore of the whole data directory.
    #[arg(long, env = "KEYROTOR_KEY_LEDGER")]
    pub key_ledger: Option<PathBuf>,
    /// How often the store's change sequences are read (milliseconds): the
    /// longest a change committed by another process sharing the store takes
    /// to reach this one's caches. This process's own changes need no poll.
    #[arg(long, env = "KEYROTOR_CHANGE_POLL_MS", default_value_t = 250)]
    pub change_poll_ms: u64,
    /// How often key rotation policies are evaluated (seconds).
    #[arg(long, env = "KEYROTOR_ROTATION_INTERVAL", default_value_t = 60)]
    pub rotation_interval: u64,
    /// For tests: rotation-policy runs (`keyrotor vault policy run --at`) may
    /// evaluate policies as of a later time, so that "rotate every year" can
    /// be exercised in seconds. Never in production.
    #[arg(long)]
    pub test_clock: bool,
    /// Seconds a client may take to send a request head, and the longest a
    /// keep-alive connection may stay idle, before the server closes it.
    #[arg(long, env = "KEYROTOR_HEADER_READ_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
}

fn load_root_key(args: &ServeArgs) -> Result<RootKey> {
    read_root_key(&args.data_dir, args.root_key_file.as_deref(), true)
}

/// The root key: `KEYROTOR_ROOT_KEY`, else `file`, else DATA_DIR/root.key
/// (created when absent and `create`).
pub fn read_root_key(data_dir: &Path, file: Option<&Path>, create: bool) -> Result<RootKey> {
    if let Ok(text) = std::env::var("KEYROTOR_ROOT_KEY") {
        return RootKey::parse(&text).context("KEYROTOR_ROOT_KEY is not a valid root key");
    }
    let path = file.map_or_else(|| data_dir.join("root.key"), Path::to_path_buf);
    if path.exists() {
        check_private_file(&path)?;
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
        return RootKey::parse(&text)
            .with_context(|| format!("{} does not hold a valid root key", path.display()));
    }
    if file.is_some() || !create {
        bail!("root key file {} does not exist", path.display());
    }
    let (key, text) = RootKey::generate()?;
    write_private_file(&path, text.expose().as_bytes())?;
    tracing::info!(path = %path.display(), key_id = %key.id(), "created a new root key");
    Ok(key)
}

/// The URL clients are told to use: `--public-url`, or the address bound
/// (`local`: with `--listen` port 0, the port the system chose).
fn public_url(args: &ServeArgs, local: SocketAddr) -> String {
    args.public_url.clone().unwrap_or_else(|| {
        let scheme = if args.no_tls { "http" } else { "https" };
        match local {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                format!("{scheme}://127.0.0.1:{}", a.port())
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                format!("{scheme}://[::1]:{}", a.port())
            }
            a => format!("{scheme}://{a}"),
        }
    })
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().map(str::to_string);
    }
    Some(
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    )
}

fn write_bootstrap(
    path: &Path,
    dir: &keyrotor_core::Directory,
    creds: Option<&keyrotor_core::NewCredentials>,
    url: &str,
    ca: &Path,
) -> Result<()> {
    let existing: Option<serde_json::Value> = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let secret = match (creds, &existing) {
        (Some(c), _) => Some(c.client_secret.expose().to_string()),
        (None, Some(v)) => v
            .get("clientSecret")
            .and_then(|s| s.as_str())
            .map(str::to_string),
        (None, None) => None,
    };
    let Some(secret) = secret.map(zeroize::Zeroizing::new) else {
        tracing::warn!(path = %path.display(), "bootstrap credentials file is missing; the administrator secret cannot be shown again");
        return Ok(());
    };
    let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.to_path_buf());
    let doc = serde_json::json!({
        "tenantId": dir.tenant_id,
        "subscriptionId": dir.subscription_id.as_str(),
        "clientId": dir.admin_client_id,
        "clientSecret": secret.as_str(),
        "authority": url,
        "resourceManager": url,
        "caCert": ca,
    });
    let text = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&doc)?);
    if existing.as_ref() != Some(&doc) {
        write_private_file(path, &text)?;
    }
    Ok(())
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&args.data_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    // One server per data directory: two would both run the rotation-policy
    // runner and the usage flusher over one database. (Changes made by other
    // processes on it reach this one's caches within --change-poll-ms.)
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(args.data_dir.join("keyrotor.lock"))?;
    if lock.try_lock().is_err() {
        bail!(
            "another keyrotor server is using {}; stop it first",
            args.data_dir.display()
        );
    }
    let root = Arc::new(load_root_key(&args)?);
    let store = Arc::new(
        SqliteStore::open(&args.data_dir.join("keyrotor.db")).context("opening the database")?,
    );
    let ledger_path = args
        .key_ledger
        .clone()
        .unwrap_or_else(|| args.data_dir.join("key-ledger"));
    let ledger = Arc::new(crate::ledger::FileLedger::open(&ledger_path)?);
    tracing::info!(path = %ledger_path.display(), "key ledger (keep it out of database backups)");
    let core = Arc::new(Keyrotor::new(store, root, Arc::new(SystemClock)).with_ledger(ledger));
    // Bound before anything names the URL: with port 0 the system picks the
    // port, and bootstrap.json, the token issuer and every endpoint say it.
    // One acceptor thread per core, each with its own single-threaded
    // runtime and SO_REUSEPORT listener: connections stay on the core that
    // accepted them (no cross-thread wake-ups on the hot path). Connections
    // that arrive before serving starts wait in the listen backlog.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let listeners =
        bind_listeners(args.listen, workers).with_context(|| format!("binding {}", args.listen))?;
    let local = listeners[0].local_addr()?;
    let url = public_url(&args, local);
    let endpoints = Endpoints::new(&url, args.dns_suffix.clone());

    let c2 = core.clone();
    let (dir, creds, signing) = tokio::task::spawn_blocking(move || -> Result<_> {
        let (dir, creds) = c2.bootstrap()?;
        // A database restored from before key changes: say which keys it
        // refuses (no key material, only accounts and slots).
        for (account, slots) in c2.restored_slots(&dir)? {
            let slots: Vec<&str> = slots.iter().map(|s| s.as_str()).collect();
            tracing::warn!(%account, slots = %slots.join(","), "restored database: these keys were replaced after its backup and are refused until regenerated");
        }
        let signing = c2.signing_keys(|| {
            keyrotor_identity::generate_signing_key()
                .map_err(|_| keyrotor_core::Error::Crypto(keyrotor_crypto::Error::Rng))
        })?;
        Ok((dir, creds, signing))
    })
    .await??;
    let pairs: Vec<(String, &[u8])> = signing
        .iter()
        .map(|k| (k.kid.clone(), k.pkcs8.as_slice()))
        .collect();
    let issuer = TokenIssuer::new(
        format!("{}/{}/v2.0", endpoints.arm(), dir.tenant_id),
        &pairs,
    )?;

    let mut names = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    if let Some(h) = host_of(&url) {
        if !names.contains(&h) {
            names.insert(0, h);
        }
    }
    if endpoints.dns_suffix.is_none() {
        // Vaults need one host each: {vault}.vault.localhost by default.
        names.push("*.vault.localhost".to_string());
    }
    if let Some(s) = &endpoints.dns_suffix {
        for prefix in [
            "",
            "*.documents.",
            "*.batch.",
            "*.cognitiveservices.",
            "*.vault.",
        ] {
            names.push(format!("{prefix}{s}"));
        }
    }
    let (tls, ca_path) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (crate::tls::user_server_config(c, k)?, c.clone()),
        _ => {
            let (cfg, files) = crate::tls::local_ca_server_config(&args.data_dir, &names)?;
            (cfg, files.ca_cert)
        }
    };
    let bootstrap_path = args.data_dir.join("bootstrap.json");
    write_bootstrap(&bootstrap_path, &dir, creds.as_ref(), &url, &ca_path)?;
    if creds.is_some() {
        eprintln!(
            "keyrotor: created administrator credentials in {} (mode 0600)",
            bootstrap_path.display()
        );
    }

    let mut dp = keyrotor_dataplane::DataPlane::new(core.clone());
    // Only for measuring its cost (bench/http.sh); never turn it off in production.
    dp.record_usage = std::env::var("KEYROTOR_RECORD_USAGE").map_or(true, |v| v != "0");
    let dns_suffix = endpoints.dns_suffix.clone();
    let public_host = host_of(&url).unwrap_or_else(|| "127.0.0.1".into());
    let tenant = dir.tenant_id.clone();
    let (ph, sfx) = (public_host.clone(), dns_suffix.clone());
    let vault_cfg = keyrotor_dataplane::vault::VaultConfig {
        suffix: endpoints.vault_suffix(),
        resource: endpoints.vault_resource(),
        authority: endpoints.arm().to_string(),
    };
    let vault_resource = vault_cfg.resource.clone();
    let rotation_core = core.clone();
    let state = ArmState::new(core.clone(), dp.usage.clone(), dir, endpoints, issuer)
        .with_test_clock(args.test_clock)
        .with_extra_audiences(move |aud| {
            keyrotor_dataplane::data_plane_audience(aud, &ph, sfx.as_deref()).is_some()
                || aud
                    .trim_end_matches('/')
                    .eq_ignore_ascii_case(&vault_resource)
                || aud.trim_end_matches('/') == "https://vault.azure.net"
        });
    let dp = dp
        .with_tokens(keyrotor_dataplane::TokenConfig {
            issuer: state.issuer_cell(),
            tenant,
            public_host,
            dns_suffix: dns_suffix.clone(),
        })
        .with_vaults(vault_cfg);
    let state = Arc::new(state);
    let dataplane = Arc::new(dp);
    let flusher = dataplane.spawn_usage_flusher(Duration::from_secs(1));
    let rotator = spawn_rotation_policies(
        rotation_core,
        Duration::from_secs(args.rotation_interval.max(1)),
    );
    let poller = spawn_change_poller(
        state.clone(),
        Duration::from_millis(args.change_poll_ms.max(10)),
    );
    let app = compose(
        keyrotor_arm::router(state),
        dataplane.clone(),
        core.clone(),
        dns_suffix,
    );
    eprintln!(
        "keyrotor: serving {url} on {local} (ready in {} ms); CA certificate: {}",
        started.elapsed().as_millis(),
        ca_path.display()
    );
    tracing::info!(%url, %local, workers, "ready");
    if args.no_tls {
        eprintln!("keyrotor: warning: serving plain HTTP (--no-tls); put a TLS-terminating proxy in front for real clients");
    }
    let tls = (!args.no_tls).then(|| Arc::new(tls));
    let head_timeout = Duration::from_secs(args.header_read_timeout);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut threads = Vec::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let (app, tls, stop) = (app.clone(), tls.clone(), stop_rx.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("keyrotor-acceptor-{i}"))
                .spawn(move || -> Result<()> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(l)?;
                        serve(listener, tls, app, stop, head_timeout).await
                    })
                })?,
        );
    }
    shutdown_signal().await;
    eprintln!("keyrotor: shutting down");
    let _ = stop_tx.send(true);
    let served = tokio::task::spawn_blocking(move || {
        for t in threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("an acceptor thread panicked"))??;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    flusher.abort();
    rotator.abort();
    poller.abort();
    dataplane.flush_usage().await;
    served
}

/// One service for everything: data-plane requests (by host name under the
/// DNS suffix, or by the `/cosmos/`, `/batch/`, `/ai/` path prefixes) go to
/// the data plane; the rest to the control plane and token issuer.
#[derive(Clone)]
struct App {
    arm: axum::Router,
    dp: Arc<keyrotor_dataplane::DataPlane>,
    core: Arc<Keyrotor>,
    dns_suffix: Option<Arc<str>>,
}

impl App {
    async fn call(
        &self,
        req: http::Request<axum::body::Body>,
        peer: SocketAddr,
    ) -> axum::response::Response {
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(http::uri::Authority::as_str));
        // The vault and ARM futures are boxed: they are large, and the
        // account data planes' hot path should not carry (and move) them.
        if let Some(vault) = self.dp.vault_target(host) {
            let vault = vault.to_string();
            return Box::pin(self.dp.handle_vault(&vault, req)).await;
        }
        match keyrotor_dataplane::target(host, req.uri().path(), self.dns_suffix.as_deref()) {
            Some(mut t) => {
                t.peer = Some(peer);
                self.dp.handle(t, req).await
            }
            None if matches!(req.uri().path(), "/healthz" | "/readyz")
                && matches!(*req.method(), http::Method::GET | http::Method::HEAD) =>
            {
                Box::pin(probe(&self.core, req.uri().path())).await
            }
            None => match Box::pin(self.arm.clone().oneshot(req)).await {
                Ok(r) => r,
                Err(never) => match never {},
            },
        }
    }
}

fn compose(
    arm: axum::Router,
    dp: Arc<keyrotor_dataplane::DataPlane>,
    core: Arc<Keyrotor>,
    dns_suffix: Option<String>,
) -> App {
    App {
        arm,
        dp,
        core,
        dns_suffix: dns_suffix.map(Arc::from),
    }
}

/// `GET /healthz` (the process serves: always 200) and `GET /readyz` (the
/// store answers: 200, else 503) for load balancers and orchestrators:
/// unauthenticated, and they say nothing else.
async fn probe(core: &Arc<Keyrotor>, path: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ready = match path {
        "/healthz" => true,
        _ => {
            let core = core.clone();
            match tokio::task::spawn_blocking(move || core.ready()).await {
                Ok(Ok(())) => true,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "readiness probe: the store does not answer");
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "readiness probe failed");
                    false
                }
            }
        }
    };
    let (status, body) = if ready {
        (http::StatusCode::OK, "ok\n")
    } else {
        (http::StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    };
    (
        status,
        [
            (http::header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (http::header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Binds `workers` listening sockets to one address with SO_REUSEPORT (the
/// first decides the port when 0 is asked for).
///
/// SO_REUSEPORT would also let a second keyrotor (another data directory)
/// bind the same port and silently receive half of the connections, with
/// other keys. A probe socket without it fails to bind while anything
/// listens there, so that start-up is refused instead.
fn bind_listeners(addr: SocketAddr, workers: usize) -> Result<Vec<std::net::TcpListener>> {
    let stream_socket = |at: SocketAddr| {
        socket2::Socket::new(
            socket2::Domain::for_address(at),
            socket2::Type::STREAM,
            None,
        )
    };
    if addr.port() != 0 {
        let probe = stream_socket(addr)?;
        probe.set_reuse_address(true)?;
        if let Err(e) = probe.bind(&addr.into()) {
            bail!("{addr} is already in use by another process ({e})");
        }
    }
    let mut out: Vec<std::net::TcpListener> = Vec::new();
    for _ in 0..workers.max(1) {
        let at = out
            .first()
            .map_or(Ok(addr), std::net::TcpListener::local_addr)?;
        let sock = stream_socket(at)?;
        sock.set_reuse_address(true)?;
        sock.set_reuse_port(true)?;
        sock.set_nonblocking(true)?;
        sock.bind(&at.into())?;
        sock.listen(1024)?;
        out.push(sock.into());
    }
    Ok(out)
}

/// An HTTP/1.1 connection (the protocol every Azure SDK speaks). Its
/// header-read timeout uses [`PolledTimer`]: drive it with `polled_every`.
fn http1<I, S>(
    io: I,
    svc: S,
    head_timeout: Duration,
) -> impl hyper_util::server::graceful::GracefulConnection<Error = hyper::Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    hyper::server::conn::http1::Builder::new()
        .timer(PolledTimer)
        .header_read_timeout(head_timeout)
        .writev(false)
        .serve_connection(io, svc)
}

/// Evaluates key rotation policies every `interval`; each rotation has its
/// audit record (written by the core) and a log line without key material.
/// Reads the store's change sequences every `interval`, so that a change
/// committed by another process on the same store (another node, later)
/// reaches this one's caches within that bound; rebuilds the token issuer
/// when the signing keys changed.
fn spawn_change_poller(state: Arc<ArmState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = state.clone();
            let polled = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let moved = st.core.poll_changes()?;
                if moved.contains(&keyrotor_core::ChangeDomain::Signing) {
                    st.sync_issuer()?;
                }
                Ok(())
            })
            .await;
            match polled {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "change sequences could not be read; will retry")
                }
                Err(e) => tracing::warn!(error = %e, "change poller task failed"),
            }
        }
    })
}

fn spawn_rotation_policies(
    core: Arc<keyrotor_core::Keyrotor>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let c = core.clone();
            match tokio::task::spawn_blocking(move || c.run_rotation_policies(c.now())).await {
                Ok(Ok(done)) => {
                    for (vault, key, version) in done {
                        tracing::info!(%vault, %key, %version, "key rotated by its rotation policy");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "rotation policies could not run; will retry")
                }
                Err(e) => tracing::warn!(error = %e, "rotation policy task failed"),
            }
        }
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: App,
    mut stop: tokio::sync::watch::Receiver<bool>,
    head_timeout: Duration,
) -> Result<()> {
    // This thread's own handle: requests clone (and drop) it, touching a
    // reference count that no other thread writes. Cloning the shared `App`
    // per request would bounce the router's and the data plane's counts
    // between the cores on every request.
    let app = Arc::new(app);
    // How often each connection is polled for its header-read deadline.
    let tick = (head_timeout / 6).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let shutdown = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let app = app.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(app.call(req.map(axum::body::Body::new), peer).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let result = match acceptor {
                        Some(acceptor) => {
                            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                                watcher.watch(builder.serve_connection(TokioIo::new(tls), svc).into_owned()).await
                            } else {
                                polled_every(watcher.watch(http1(TokioIo::new(tls), svc, head_timeout)), tick).await.map_err(Into::into)
                            }
                        }
                        // Plain HTTP: HTTP/1.1 only (no h2c sniffing on the hot path).
                        None => polled_every(watcher.watch(http1(TokioIo::new(tcp), svc, head_timeout)), tick).await.map_err(Into::into),
                    };
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing");
        }
    }
    Ok(())
}
