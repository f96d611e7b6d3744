//! `keyrotor keys`: list an account's keys, regenerate one, and show who
//! still uses which key.

use anyhow::{bail, Result};
use keyrotor_arm::dto::key_name;
use keyrotor_types::{AccountKind, KeySlot};
use reqwest::Method;
use serde_json::{json, Value};

use super::api_versions;
use super::args::parse_window;
use super::output::{ago, cell, emit, parse_time, print_rows, rfc3339, Output};
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
    Regenerate {
        #[command(flatten)]
        account: AccountRef,
        /// Which key: primary | secondary (all kinds; key1/key2 for AI too),
        /// primaryReadonly | secondaryReadonly (Cosmos DB).
        #[arg(long)]
        key_kind: String,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d; plain numbers are minutes).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
        /// Regenerate even if the key is in use (clients on it will fail at once).
        #[arg(long)]
        force: bool,
    },
    /// Show when each key was last used and by whom: is it safe to regenerate key X?
    Usage {
        #[command(flatten)]
        account: AccountRef,
        /// A key used more recently than this is "in use" (e.g. 15m, 2h, 7d).
        #[arg(long, default_value = "15m", value_parser = parse_window)]
        window: i64,
    },
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

/// One key's usage as listKeyUsage reports it, judged against a window.
struct KeyVerdict {
    name: String,
    kind: String,
    generated: String,
    last_used: Option<time::OffsetDateTime>,
    requests_24h: u64,
    clients: Vec<String>,
    in_use: bool,
}

/// Each key of a `listKeyUsage` answer, with the server guard's verdict.
fn verdicts(usage: &Value) -> Vec<KeyVerdict> {
    usage["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .map(|k| {
                    let last_used = k["lastUsedTime"].as_str().and_then(parse_time);
                    KeyVerdict {
                        name: cell(&k["keyName"]),
                        kind: cell(&k["keyKind"]),
                        generated: cell(&k["generationTime"]),
                        last_used,
                        requests_24h: k["requestsLast24Hours"].as_u64().unwrap_or(0),
                        clients: k["clients"]
                            .as_array()
                            .map(|c| {
                                c.iter()
                                    .map(|c| {
                                        format!(
                                            "{} @ {}",
                                            cell(&c["userAgent"]),
                                            cell(&c["address"])
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        in_use: k["inUse"].as_bool().unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The field and value that name `--key-kind` in a regenerate body: Cosmos
/// names the slot (`keyKind: primaryReadonly`); Batch and AI name the key
/// as listKeys does, capitalised (`keyName: Primary`, `keyName: Key2`).
/// AI accounts also take key1 and key2 for primary and secondary.
fn regenerate_target(kind: AccountKind, key_kind: &str) -> Result<(&'static str, String)> {
    let slot = kind.slots().iter().copied().find(|&s| {
        s.as_str().eq_ignore_ascii_case(key_kind)
            || (kind == AccountKind::Ai && key_name(kind, s).eq_ignore_ascii_case(key_kind))
    });
    let Some(slot) = slot else {
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
    Ok(match kind {
        AccountKind::Cosmos => ("keyKind", slot.as_str().to_string()),
        AccountKind::Batch | AccountKind::Ai => ("keyName", capitalised(key_name(kind, slot))),
    })
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// Rows (key name, slot, value, generated) of a keys listing; Cosmos
/// accounts tell each key's generation time in `keysMetadata`.
fn key_rows(kind: AccountKind, keys: &Value, account: Option<&Value>) -> Vec<Vec<String>> {
    kind.slots()
        .iter()
        .map(|&slot: &KeySlot| (key_name(kind, slot), slot))
        .filter(|(field, _)| keys.get(*field).is_some())
        .map(|(field, slot)| {
            let generated = account
                .filter(|_| kind == AccountKind::Cosmos)
                .and_then(|a| {
                    a.pointer(&format!("/properties/keysMetadata/{field}/generationTime"))
                })
                .map(cell)
                .unwrap_or_default();
            vec![
                field.to_string(),
                slot.as_str().to_string(),
                cell(&keys[field]),
                generated,
            ]
        })
        .collect()
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
                (Output::Table | Output::Tsv, KeysType::ConnectionStrings) => emit(
                    c.output,
                    &v["connectionStrings"],
                    &[
                        ("Description", "/description"),
                        ("ConnectionString", "/connectionString"),
                    ],
                ),
                (Output::Table | Output::Tsv, _) => {
                    let acct = c
                        .arm
                        .ok(Method::GET, &base, api_versions::account(k), None)
                        .await
                        .ok();
                    print_rows(
                        c.output,
                        &["Key", "KeyKind", "Value", "Generated"],
                        &key_rows(k, &v, acct.as_ref()),
                    );
                    Ok(())
                }
                _ => emit(c.output, &v, &[]),
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
            let list = verdicts(&usage);
            let active = list
                .iter()
                .filter_map(|v| v.last_used.map(|t| (t, v.kind.clone())))
                .max()
                .map(|(_, k)| k);
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|v| {
                    vec![
                        v.name.clone(),
                        v.kind.clone(),
                        v.last_used.map_or_else(
                            || "never".into(),
                            |t| format!("{} ({})", rfc3339(t), ago((now - t).whole_seconds())),
                        ),
                        v.requests_24h.to_string(),
                        if v.clients.is_empty() {
                            "-".into()
                        } else {
                            v.clients.join(", ")
                        },
                        match (v.in_use, active.as_deref() == Some(v.kind.as_str())) {
                            (true, true) => "ACTIVE: in use, do not regenerate".into(),
                            (true, false) => "IN USE: move clients first".into(),
                            (false, _) => "safe to regenerate".into(),
                        },
                        v.generated.clone(),
                    ]
                })
                .collect();
            print_rows(
                c.output,
                &[
                    "Key",
                    "KeyKind",
                    "LastUsed",
                    "Requests24h",
                    "Clients",
                    "Verdict",
                    "Generated",
                ],
                &rows,
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
            let (field_name, value) = regenerate_target(k, &key_kind)?;
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
                    Some(json!({ field_name: value })),
                )
                .await?;
            // Cosmos answers without a body, as Azure does; show the account's key metadata instead.
            let v = if v.is_null() {
                let acct = c
                    .arm
                    .ok(Method::GET, &base, api_versions::account(k), None)
                    .await?;
                json!({ "keyKind": value, "keysMetadata": acct.pointer("/properties/keysMetadata") })
            } else {
                v
            };
            match c.output {
                Output::Table | Output::Tsv if v.get("keysMetadata").is_none() => {
                    print_rows(
                        c.output,
                        &["Key", "KeyKind", "Value", "Generated"],
                        &key_rows(k, &v, None),
                    );
                    Ok(())
                }
                _ => emit(
                    c.output,
                    &v,
                    &[
                        ("KeyKind", "/keyKind"),
                        (
                            "Generated",
                            &format!("/keysMetadata/{value}MasterKey/generationTime"),
                        ),
                    ],
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regenerate body names, derived from keyrotor-types and
    /// keyrotor-arm, are the ones the CLI has always sent.
    #[test]
    fn regenerate_targets_are_the_wire_names() {
        let cases: &[(AccountKind, &str, &str, &str)] = &[
            (AccountKind::Cosmos, "primary", "keyKind", "primary"),
            (AccountKind::Cosmos, "Secondary", "keyKind", "secondary"),
            (
                AccountKind::Cosmos,
                "primaryreadonly",
                "keyKind",
                "primaryReadonly",
            ),
            (
                AccountKind::Cosmos,
                "SECONDARYREADONLY",
                "keyKind",
                "secondaryReadonly",
            ),
            (AccountKind::Batch, "primary", "keyName", "Primary"),
            (AccountKind::Batch, "Secondary", "keyName", "Secondary"),
            (AccountKind::Ai, "primary", "keyName", "Key1"),
            (AccountKind::Ai, "key1", "keyName", "Key1"),
            (AccountKind::Ai, "secondary", "keyName", "Key2"),
            (AccountKind::Ai, "KEY2", "keyName", "Key2"),
        ];
        for &(kind, given, field, value) in cases {
            let got = regenerate_target(kind, given).map_err(|e| e.to_string());
            assert_eq!(got, Ok((field, value.to_string())), "{kind} {given}");
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
    fn key_rows_name_each_key_and_its_slot() {
        let rows = |kind, keys: Value| -> Vec<(String, String)> {
            key_rows(kind, &keys, None)
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
                json!({"primaryMasterKey": "a", "secondaryMasterKey": "b",
                       "primaryReadonlyMasterKey": "c", "secondaryReadonlyMasterKey": "d"})
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
        let account = json!({"properties": {"keysMetadata": {
            "primaryMasterKey": {"generationTime": "t1"}}}});
        let cosmos = key_rows(
            AccountKind::Cosmos,
            &json!({"primaryMasterKey": "a"}),
            Some(&account),
        );
        assert_eq!(
            cosmos,
            vec![vec![
                "primaryMasterKey".to_string(),
                "primary".into(),
                "a".into(),
                "t1".into()
            ]]
        );
    }
}
