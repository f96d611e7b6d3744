//! `keyrotor admin`: local operations on a data directory. They need the
//! directory and the root key, never the network, so that what no API
//! caller may do (replace the bootstrap administrator's secret) stays
//! possible for the operator of the machine.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use keyrotor_core::{Actor, Keyrotor};
use keyrotor_store_sqlite::SqliteStore;
use keyrotor_types::SystemClock;

use crate::fsutil::write_private_file;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Break-glass recovery: replace every secret of the bootstrap
    /// administrator with a new one and write it to DATA_DIR/bootstrap.json
    /// (mode 0600; never printed). The old secrets stop working at once,
    /// also for a server that is running.
    ResetSecret(LocalArgs),
}

#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    /// The server's data directory.
    #[arg(long, env = "KEYROTOR_DATA_DIR", default_value = "./keyrotor-data")]
    pub data_dir: PathBuf,
    /// Root key file, as for `serve` (or KEYROTOR_ROOT_KEY); default DATA_DIR/root.key.
    #[arg(long, env = "KEYROTOR_ROOT_KEY_FILE")]
    pub root_key_file: Option<PathBuf>,
}

pub async fn run(cmd: AdminCommand) -> Result<()> {
    match cmd {
        AdminCommand::ResetSecret(a) => tokio::task::spawn_blocking(move || reset_secret(&a))
            .await
            .context("the reset did not complete")?,
    }
}

fn reset_secret(a: &LocalArgs) -> Result<()> {
    let db = a.data_dir.join("keyrotor.db");
    if !db.exists() {
        anyhow::bail!("{} has no keyrotor database", a.data_dir.display());
    }
    let root = Arc::new(crate::server::read_root_key(
        &a.data_dir,
        a.root_key_file.as_deref(),
        false,
    )?);
    let store = Arc::new(
        SqliteStore::open_upgrading(&db, &keyrotor_core::LegacyUpgrade::new(root.clone()))
            .context("opening the database")?,
    );
    let core = Keyrotor::new(store, root, Arc::new(SystemClock));
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let creds =
        core.reset_admin_secret(&Actor::new(format!("local:admin reset-secret ({user})")))?;
    let path = a.data_dir.join("bootstrap.json");
    let mut doc: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    doc.insert("clientId".into(), creds.client_id.clone().into());
    doc.insert(
        "clientSecret".into(),
        creds.client_secret.expose().to_string().into(),
    );
    let text = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&doc)?);
    doc.clear();
    write_private_file(&path, &text)?;
    eprintln!(
        "keyrotor: replaced the secret of the bootstrap administrator {}; the new one is in {} (mode 0600). Every earlier secret of it is refused from now on.",
        creds.client_id,
        path.display()
    );
    Ok(())
}
