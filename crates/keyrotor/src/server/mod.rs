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

mod config;
mod listener;
mod tasks;

pub use config::read_root_key;
use config::*;
use listener::*;
use tasks::*;

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
    /// Activity-log retention (days): older entries are removed every hour;
    /// the hash chain stays verifiable (the newest removed entry's hash
    /// anchors it).
    #[arg(long, env = "KEYROTOR_ACTIVITY_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub activity_retention_days: u32,
    /// How often key rotation policies are evaluated (seconds).
    #[arg(long, env = "KEYROTOR_ROTATION_INTERVAL", default_value_t = 60)]
    pub rotation_interval: u64,
    /// For tests: rotation-policy runs (`keyrotor vault key policy run --at`) may
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
    // A database from before envelope encryption is upgraded here, with
    // the root key: its records are sealed under fresh data keys.
    let store = Arc::new(
        SqliteStore::open_upgrading(
            &args.data_dir.join("keyrotor.db"),
            &keyrotor_core::LegacyUpgrade::new(root.clone()),
        )
        .context("opening the database")?,
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
    let pruner = spawn_activity_pruner(
        core.clone(),
        args.activity_retention_days,
        Duration::from_secs(3600),
    );
    let break_glass = spawn_break_glass_recorder(
        core.clone(),
        args.activity_retention_days,
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
    pruner.abort();
    break_glass.abort();
    poller.abort();
    dataplane.flush_usage().await;
    served
}
