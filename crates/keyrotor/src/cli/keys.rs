//! `keyrotor keys`: list an account's keys, regenerate one, and show who
//! still uses which key.

use std::collections::HashMap;

use anyhow::{bail, Result};
use keyrotor_arm::wire::api_versions;
use keyrotor_arm::wire::keys::{
    self as wk, ConnectionStrings, KeyList, KeyName, KeyUsageList, RegenerateKey,
};
use keyrotor_arm::wire::Timestamp;
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde_json::Value;

use super::args::parse_window;
use super::client::body;
use super::output::{ago, emit, legend, print_rows, rfc3339, Output};
use super::{AccountRef, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeysType {
    Keys,
    ReadOnlyKeys,
    ConnectionStrings,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// List an account's keys.
    List {
        #[command(flatten)]
        account: AccountRef,
        /// What to list (Cosmos DB only: read-only-keys, connection-strings).
        #[arg(long = "type", value_enum, default_value = "keys")]
        kind_of_keys: KeysType,
    },
    /// Regenerate one key; the other keys keep working. Refuses a key used
    /// within --window unless --force, naming the clients that still use it.
    /// Prints the account's keys afterwards, the new one among them, for
    /// every kind (Cosmos DB's ARM answer has no body: the CLI lists the
    /// keys right after the regeneration).
    Regenerate {
        #[command(flatten)]
        account: AccountRef,
        /// Which key: primary | secondary (all kinds; key1/key2 for AI too),
        /// primaryReadonly | secondaryReadonly (Cosmos DB). `--key-name` is
        /// az's spelling for Batch and AI Services.
        #[arg(long, visible_alias = "key-name")]
        key_kind: String,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d; plain numbers are minutes).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
        /// Regenerate even if the key is in use (clients on it will fail at once).
        #[arg(long)]
        force: bool,
    },
    /// Show when each key was last used and by whom: is it safe to regenerate key X?
    #[command(after_long_help = VERDICTS)]
    Usage {
        #[command(flatten)]
        account: AccountRef,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
    },
}

/// What the verdicts and columns of `keys usage` mean: its long help, and
/// the legend under its table.
pub(super) const VERDICTS: &str = "\
Verdicts (the server's check for --window, the same one `keys regenerate` makes):
  ACTIVE   used within the window, and the most recently used key: clients depend
           on it; do not regenerate it
  IN USE   used within the window, but not the most recently used key: move its
           clients (listed) to the ACTIVE key first; `keys regenerate` refuses it
  idle     not used within the window: safe to regenerate
LastUsed and Clients belong to the current key (a regenerated key starts at
'never'); SlotRequests24h counts the slot's requests in the last 24 hours across
key generations, the replaced key's included.";

/// A window in seconds as `--window` takes it: `15m`, `2h`, `7d`, `90s`.
fn window_text(seconds: i64) -> String {
    match seconds {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The verdict on one key: `ACTIVE`, `IN USE` or `idle` ([`VERDICTS`]).
fn verdict(in_use: bool, most_recent: bool) -> &'static str {
    match (in_use, most_recent) {
        (true, true) => "ACTIVE",
        (true, false) => "IN USE",
        (false, _) => "idle",
    }
}

/// `force=true`, or the guard window for the server's usage check.
pub(super) fn guard_query(force: bool, window: i64) -> String {
    if force {
        "force=true".into()
    } else {
        format!("guardWindow=PT{window}S")
    }
}

/// `listKeyUsage` of the account at `base`; with a window (seconds),
/// the server's guard says of each key whether it is in use.
pub(super) async fn key_usage(
    c: &Session,
    kind: AccountKind,
    base: &str,
    window: Option<i64>,
) -> Result<Value> {
    let query = window.map_or_else(String::new, |w| format!("?{}", guard_query(false, w)));
    c.arm
        .ok(
            Method::POST,
            &format!("{base}/listKeyUsage{query}"),
            api_versions::account(kind),
            None,
        )
        .await
}

/// The clients of a key as the CLI shows them: `user agent @ address`
/// (`(no user agent)` for a client that sent none).
pub(super) fn clients(k: &wk::KeyUsage) -> Vec<String> {
    k.clients
        .iter()
        .map(|c| {
            let agent = match c.user_agent.trim() {
                "" => "(no user agent)",
                agent => agent,
            };
            format!("{agent} @ {}", c.address)
        })
        .collect()
}

/// The key `--key-kind` names: a slot of the kind (`primary`,
/// `secondaryReadonly`, any case), and for AI accounts also `key1` and
/// `key2`.
fn regenerate_target(kind: AccountKind, key_kind: &str) -> Result<KeyName> {
    let key = KeyName::all(kind).find(|k| {
        k.slot.as_str().eq_ignore_ascii_case(key_kind)
            || (kind == AccountKind::Ai && k.name.eq_ignore_ascii_case(key_kind))
    });
    let Some(key) = key else {
        match kind {
            AccountKind::Cosmos => bail!(
                "--key-kind must be one of primary, secondary, primaryReadonly, secondaryReadonly"
            ),
            AccountKind::Batch => {
                bail!("--key-kind must be primary or secondary for Batch accounts")
            }
            AccountKind::Ai => {
                bail!("--key-kind must be primary (key1) or secondary (key2) for AI Services accounts")
            }
        }
    };
    Ok(key)
}

/// Each key's generation time by slot (`primary`, …), from `listKeyUsage`,
/// which reports it for every kind; empty when the caller may not read
/// usage (the keys are still shown).
async fn generation_times(
    c: &Session,
    kind: AccountKind,
    base: &str,
) -> HashMap<String, Timestamp> {
    let usage = key_usage(c, kind, base, None)
        .await
        .and_then(|v| Ok(serde_json::from_value::<KeyUsageList>(v)?));
    usage
        .map(|u| {
            u.keys
                .into_iter()
                .map(|k| (k.key_kind, k.generation_time))
                .collect()
        })
        .unwrap_or_default()
}

/// Rows (key name, slot, value, generated) of a keys listing, in slot
/// order; `unknown` where the generation time could not be read.
fn key_rows(
    kind: AccountKind,
    keys: &KeyList,
    generated: &HashMap<String, Timestamp>,
) -> Vec<Vec<String>> {
    KeyName::all(kind)
        .filter_map(|k| Some((k, keys.keys.get(k.slot)?)))
        .map(|(k, value)| {
            let generated = generated
                .get(k.slot.as_str())
                .map_or_else(|| "unknown".into(), |t| rfc3339(t.time()));
            vec![
                k.name.to_string(),
                k.slot.as_str().to_string(),
                value.clone().unwrap_or_default(),
                generated,
            ]
        })
        .collect()
}

/// Prints a keys listing (`listKeys`, `readonlykeys`, a regeneration's
/// answer) as a table with each key's generation time, or as it came.
async fn print_keys(c: &Session, kind: AccountKind, base: &str, answer: Value) -> Result<()> {
    match c.output {
        Output::Table | Output::Tsv => {
            let keys: KeyList = serde_json::from_value(answer)?;
            let generated = generation_times(c, kind, base).await;
            print_rows(
                c.output,
                &["Key", "KeyKind", "Value", "Generated"],
                &key_rows(kind, &keys, &generated),
            );
            Ok(())
        }
        _ => emit(c.output, &answer, &[]),
    }
}

pub(super) async fn run(c: &Session, cmd: KeysCmd) -> Result<()> {
    match cmd {
        KeysCmd::List {
            account,
            kind_of_keys,
        } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let action = match (k, kind_of_keys) {
                (_, KeysType::Keys) => "listKeys",
                (AccountKind::Cosmos, KeysType::ReadOnlyKeys) => "readonlykeys",
                (AccountKind::Cosmos, KeysType::ConnectionStrings) => "listConnectionStrings",
                _ => bail!("--type {kind_of_keys:?} applies to Cosmos DB accounts only"),
            };
            let v = c
                .arm
                .ok(
                    Method::POST,
                    &format!("{base}/{action}"),
                    api_versions::account(k),
                    None,
                )
                .await?;
            match (c.output, kind_of_keys) {
                (Output::Table | Output::Tsv, KeysType::ConnectionStrings) => {
                    let list: ConnectionStrings = serde_json::from_value(v)?;
                    emit(
                        c.output,
                        &serde_json::to_value(list.connection_strings)?,
                        &[
                            ("Description", "/description"),
                            ("ConnectionString", "/connectionString"),
                        ],
                    )
                }
                _ => print_keys(c, k, &base, v).await,
            }
        }
        KeysCmd::Usage { account, window } => {
            let k = c.resolve(&account).await?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let usage = key_usage(c, k, &base, Some(window)).await?;
            if matches!(c.output, Output::Json | Output::None) {
                return emit(c.output, &usage, &[]);
            }
            let now = time::OffsetDateTime::now_utc();
            let list: KeyUsageList = serde_json::from_value(usage)?;
            let active = list
                .keys
                .iter()
                .filter_map(|k| k.last_used_time.map(|t| (t, k.key_kind.clone())))
                .max()
                .map(|(_, k)| k);
            let rows: Vec<Vec<String>> = list
                .keys
                .iter()
                .map(|k| {
                    let last_used = k.last_used_time.map_or_else(
                        || "never".into(),
                        |t| {
                            let t = t.time();
                            format!("{} ({})", rfc3339(t), ago((now - t).whole_seconds()))
                        },
                    );
                    let most_recent = active.as_deref() == Some(k.key_kind.as_str());
                    let clients = clients(k);
                    vec![
                        k.key_name.clone(),
                        k.key_kind.clone(),
                        rfc3339(k.generation_time.time()),
                        last_used,
                        if clients.is_empty() {
                            "-".into()
                        } else {
                            clients.join(", ")
                        },
                        k.requests_last24_hours.to_string(),
                        verdict(k.in_use.unwrap_or(false), most_recent).into(),
                    ]
                })
                .collect();
            print_rows(
                c.output,
                &[
                    "Key",
                    "KeyKind",
                    "Generated",
                    "LastUsed",
                    "Clients",
                    "SlotRequests24h",
                    "Verdict",
                ],
                &rows,
            );
            legend(
                c.output,
                &format!("Window: {}.\n{VERDICTS}", window_text(window)),
            );
            Ok(())
        }
        KeysCmd::Regenerate {
            account,
            key_kind,
            window,
            force,
        } => {
            let k = c.resolve(&account).await?;
            let key = regenerate_target(k, &key_kind)?;
            let base = c.account_path(k, &account.resource_group, &account.name);
            let action = if k == AccountKind::Batch {
                "regenerateKeys"
            } else {
                "regenerateKey"
            };
            // The server refuses a key used within the window (one
            // check, next to the regeneration: no race with a client
            // that starts using the key in between).
            let path = format!("{base}/{action}?{}", guard_query(force, window));
            let v = c
                .arm
                .ok(
                    Method::POST,
                    &path,
                    api_versions::account(k),
                    body(&RegenerateKey::new(key))?,
                )
                .await?;
            // Cosmos DB answers without a body, as Azure does; like Batch
            // and AI, show the keys as they are now.
            let v = if v.is_null() {
                c.arm
                    .ok(
                        Method::POST,
                        &format!("{base}/listKeys"),
                        api_versions::account(k),
                        None,
                    )
                    .await?
            } else {
                v
            };
            print_keys(c, k, &base, v).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The regenerate body names, derived from keyrotor-types and the wire
    /// layer, are the ones the CLI has always sent.
    #[test]
    fn regenerate_targets_are_the_wire_names() {
        let cases: &[(AccountKind, &str, Value)] = &[
            (
                AccountKind::Cosmos,
                "primary",
                json!({"keyKind": "primary"}),
            ),
            (
                AccountKind::Cosmos,
                "Secondary",
                json!({"keyKind": "secondary"}),
            ),
            (
                AccountKind::Cosmos,
                "primaryreadonly",
                json!({"keyKind": "primaryReadonly"}),
            ),
            (
                AccountKind::Cosmos,
                "SECONDARYREADONLY",
                json!({"keyKind": "secondaryReadonly"}),
            ),
            (AccountKind::Batch, "primary", json!({"keyName": "Primary"})),
            (
                AccountKind::Batch,
                "Secondary",
                json!({"keyName": "Secondary"}),
            ),
            (AccountKind::Ai, "primary", json!({"keyName": "Key1"})),
            (AccountKind::Ai, "key1", json!({"keyName": "Key1"})),
            (AccountKind::Ai, "secondary", json!({"keyName": "Key2"})),
            (AccountKind::Ai, "KEY2", json!({"keyName": "Key2"})),
        ];
        for (kind, given, body) in cases {
            let got = regenerate_target(*kind, given)
                .map(|k| serde_json::to_value(RegenerateKey::new(k)).ok())
                .map_err(|e| e.to_string());
            assert_eq!(got, Ok(Some(body.clone())), "{kind} {given}");
        }
        for (kind, given) in [
            (AccountKind::Cosmos, "key1"),
            (AccountKind::Cosmos, "primaryMasterKey"),
            (AccountKind::Batch, "key1"),
            (AccountKind::Batch, "primaryReadonly"),
            (AccountKind::Ai, "primaryReadonly"),
            (AccountKind::Ai, ""),
        ] {
            assert!(regenerate_target(kind, given).is_err(), "{kind} {given}");
        }
    }

    #[test]
    fn key_rows_name_each_key_and_its_slot_in_slot_order() {
        let none = HashMap::new();
        let rows = |kind, keys: Value| -> Vec<(String, String)> {
            let keys: KeyList = serde_json::from_value(keys).expect("a key list");
            key_rows(kind, &keys, &none)
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            rows(
                AccountKind::Cosmos,
                json!({"primaryMasterKey": "a", "primaryReadonlyMasterKey": "c",
                       "secondaryMasterKey": "b", "secondaryReadonlyMasterKey": "d"})
            ),
            pairs(&[
                ("primaryMasterKey", "primary"),
                ("secondaryMasterKey", "secondary"),
                ("primaryReadonlyMasterKey", "primaryReadonly"),
                ("secondaryReadonlyMasterKey", "secondaryReadonly"),
            ])
        );
        assert_eq!(
            rows(
                AccountKind::Batch,
                json!({"accountName": "x", "primary": "a", "secondary": "b"})
            ),
            pairs(&[("primary", "primary"), ("secondary", "secondary")])
        );
        assert_eq!(
            rows(AccountKind::Ai, json!({"key2": "b", "key1": "a"})),
            pairs(&[("key1", "primary"), ("key2", "secondary")])
        );
    }

    /// Generation times print in whole seconds for every kind, `unknown`
    /// where none was read.
    #[test]
    fn key_rows_show_generation_times_in_seconds() {
        let t: Timestamp =
            serde_json::from_value(json!("2023-11-14T22:13:20.123456Z")).expect("a time");
        let generated = HashMap::from([("primary".to_string(), t)]);
        for (kind, keys) in [
            (
                AccountKind::Cosmos,
                json!({"primaryMasterKey": "a", "secondaryMasterKey": "b"}),
            ),
            (
                AccountKind::Batch,
                json!({"primary": "a", "secondary": "b"}),
            ),
            (AccountKind::Ai, json!({"key1": "a", "key2": "b"})),
        ] {
            let keys: KeyList = serde_json::from_value(keys).expect("a key list");
            let rows = key_rows(kind, &keys, &generated);
            assert_eq!(rows[0][3], "2023-11-14T22:13:20Z", "{kind}");
            assert_eq!(rows[1][3], "unknown", "{kind}");
        }
    }

    #[test]
    fn verdicts_and_windows_read_as_the_legend_says() {
        assert_eq!(verdict(true, true), "ACTIVE");
        assert_eq!(verdict(true, false), "IN USE");
        assert_eq!(verdict(false, true), "idle");
        assert_eq!(verdict(false, false), "idle");
        for v in ["ACTIVE", "IN USE", "idle", "SlotRequests24h", "LastUsed"] {
            assert!(VERDICTS.contains(v), "{v}");
        }
        assert_eq!(window_text(900), "15m");
        assert_eq!(window_text(7200), "2h");
        assert_eq!(window_text(604_800), "7d");
        assert_eq!(window_text(90), "90s");
    }
}
