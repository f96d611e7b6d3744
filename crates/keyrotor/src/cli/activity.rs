//! `keyrotor activity`: who changed what and who read which keys (Azure
//! Monitor's activity log, through the ARM API), and `verify`, the local
//! check of the log's hash chain.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use keyrotor_arm::wire::monitor::{EventDataCollection, ACTIVITY_LOG_API_VERSION};
use keyrotor_arm::wire::{ids, rfc3339};
use reqwest::Method;
use time::OffsetDateTime;

use super::args::parse_window;
use super::client::enc;
use super::output::emit;
use super::{connect, Conn};

#[derive(Debug, clap::Subcommand)]
pub enum ActivityCmd {
    /// List activity-log entries, newest first (what `az monitor activity-log list` shows).
    List {
        /// Only entries on resources in this resource group.
        #[arg(short = 'g', long, conflicts_with = "resource")]
        resource_group: Option<String>,
        /// Only entries on this resource (an ARM resource id) or below it.
        #[arg(long)]
        resource: Option<String>,
        /// How far back: a duration (`90s`, `15m`, `2h`, `7d`; a bare number is minutes) or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only entries of this status.
        #[arg(long, value_parser = ["Succeeded", "Failed"])]
        status: Option<String>,
    },
    /// Check the log's hash chain in a data directory (reads the database
    /// directly; the server may be running). Exit code 1 and the first bad
    /// entry named when an entry was altered, removed or reordered.
    Verify {
        /// The server's data directory.
        #[arg(long, env = "KEYROTOR_DATA_DIR", default_value = "./keyrotor-data")]
        data_dir: PathBuf,
    },
}

const COLUMNS: &[(&str, &str)] = &[
    ("Time", "/eventTimestamp"),
    ("Caller", "/caller"),
    ("Operation", "/operationName/value"),
    ("Status", "/status/value"),
    ("SubStatus", "/subStatus/value"),
    ("Resource", "/resourceId"),
    ("CorrelationId", "/correlationId"),
];

/// The start of `--since`: now minus a duration, or a time.
fn since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime> {
    if let Ok(seconds) = parse_window(text) {
        return Ok(now - time::Duration::seconds(seconds));
    }
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).with_context(
        || format!("--since '{text}' is neither a duration (2h, 7d) nor an RFC 3339 time"),
    )
}

/// The activity-log `$filter` of the options (the forms Azure Monitor documents).
fn filter(
    from: OffsetDateTime,
    resource_group: Option<&str>,
    resource: Option<&str>,
    status: Option<&str>,
) -> String {
    let q = |s: &str| s.replace('\'', "''");
    let mut f = format!("eventTimestamp ge '{}'", rfc3339(from));
    if let Some(g) = resource_group {
        f.push_str(&format!(" and resourceGroupName eq '{}'", q(g)));
    }
    if let Some(r) = resource {
        f.push_str(&format!(" and resourceUri eq '{}'", q(r)));
    }
    if let Some(s) = status {
        f.push_str(&format!(" and status eq '{}'", q(s)));
    }
    f
}

pub(super) async fn run(conn: &Conn, cmd: ActivityCmd) -> Result<()> {
    match cmd {
        ActivityCmd::List {
            resource_group,
            resource,
            since: since_text,
            status,
        } => {
            let c = connect(conn).await?;
            let from = since(&since_text, OffsetDateTime::now_utc())?;
            let f = filter(
                from,
                resource_group.as_deref(),
                resource.as_deref(),
                status.as_deref(),
            );
            let path = format!(
                "{}/providers/Microsoft.Insights/eventtypes/management/values?$filter={}",
                ids::subscription(&c.subscription),
                enc(&f)
            );
            let v: EventDataCollection = c
                .arm
                .ok_as(Method::GET, &path, ACTIVITY_LOG_API_VERSION, None)
                .await?;
            emit(c.output, &serde_json::to_value(v.value)?, COLUMNS)
        }
        ActivityCmd::Verify { data_dir } => tokio::task::spawn_blocking(move || verify(&data_dir))
            .await
            .context("the check did not complete")?,
    }
}

/// Walks the chain of the database in `data_dir`.
fn verify(data_dir: &std::path::Path) -> Result<()> {
    use keyrotor_core::store::MetaStore;
    let db = data_dir.join("keyrotor.db");
    if !db.exists() {
        bail!("{} has no keyrotor database", data_dir.display());
    }
    let store = keyrotor_store_sqlite::SqliteStore::open(&db).context("opening the database")?;
    let chain = store.activity_chain().context("reading the activity log")?;
    match keyrotor_core::activity::verify_chain(&chain) {
        Ok(n) => {
            println!(
                "activity log intact: {n} entries chained after entry {} (the newest is {})",
                chain.anchor_seq,
                chain.entries.last().map_or(chain.anchor_seq, |e| e.seq)
            );
            Ok(())
        }
        Err(e) => bail!("the activity log does not verify: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_durations_and_times() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        assert_eq!(
            since("2h", now).expect("a duration").unix_timestamp(),
            1_800_000_000 - 7200
        );
        assert_eq!(
            since("2026-12-08T00:00:00Z", now)
                .expect("a time")
                .unix_timestamp(),
            1_796_688_000
        );
        assert!(since("yesterday", now).is_err());
    }

    #[test]
    fn filters_are_azure_monitors_forms() {
        let t = OffsetDateTime::from_unix_timestamp(0).expect("a time");
        assert_eq!(
            filter(t, Some("rg's"), None, Some("Failed")),
            "eventTimestamp ge '1970-01-01T00:00:00.000000Z' and resourceGroupName eq 'rg''s' and status eq 'Failed'"
        );
    }
}
