//! `keyrotor keys`: list an account's keys, regenerate one, and show who
//! still uses which key.

use anyhow::{bail, Result};
use keyrotor_arm::wire::account::{Account, CosmosAccountProperties};
use keyrotor_arm::wire::api_versions;
use keyrotor_arm::wire::keys::{
    self as wk, ConnectionStrings, KeyList, KeyMap, KeyMetadata, KeyName, KeyUsageList,
    RegenerateKey,
};
use keyrotor_types::AccountKind;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::args::parse_window;
use super::client::body;
use super::output::{ago, emit, print_rows, rfc3339, Output};
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

/// The clients of a key as the CLI shows them: `user agent @ address`.
pub(super) fn clients(k: &wk::KeyUsage) -> Vec<String> {
    k.clients
        .iter()
        .map(|c| format!("{} @ {}", c.user_agent, c.address))
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

/// Rows (key name, slot, value, generated) of a keys listing, in slot
/// order; Cosmos accounts tell each key's generation time in
/// `keysMetadata`.
fn key_rows(
    kind: AccountKind,
    keys: &KeyList,
    metadata: Option<&KeyMap<KeyMetadata>>,
) -> Vec<Vec<String>> {
    KeyName::all(kind)
        .filter_map(|k| Some((k, keys.keys.get(k.slot)?)))
        .map(|(k, value)| {
            let generated = metadata
                .and_then(|m| m.get(k.slot))
                .map(|m| m.generation_time.to_string())
                .unwrap_or_default();
            vec![
                k.name.to_string(),
                k.slot.as_str().to_string(),
                value.clone().unwrap_or_default(),
                generated,
            ]
        })
        .collect()
}

/// The `keysMetadata` of a Cosmos DB account.
async fn keys_metadata(c: &Session, base: &str) -> Result<KeyMap<KeyMetadata>> {
    let a: Account<CosmosAccountProperties> = c
        .arm
        .ok_as(
            Method::GET,
            base,
            api_versions::account(AccountKind::Cosmos),
            None,
        )
        .await?;
    Ok(a.properties.keys_metadata)
}

/// A Cosmos DB regeneration as the CLI shows it (ARM answers without a
/// body): the key regenerated and the account's key metadata.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CosmosRegenerated {
    key_kind: &'static str,
    keys_metadata: KeyMap<KeyMetadata>,
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
                (Output::Table | Output::Tsv, _) => {
                    let keys: KeyList = serde_json::from_value(v)?;
                    let metadata = match k {
                        AccountKind::Cosmos => keys_metadata(c, &base).await.ok(),
                        AccountKind::Batch | AccountKind::Ai => None,
                    };
                    print_rows(
                        c.output,
                        &["Key", "KeyKind", "Value", "Generated"],
                        &key_rows(k, &keys, metadata.as_ref()),
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
                    let clients = clients(k);
                    vec![
                        k.key_name.clone(),
                        k.key_kind.clone(),
                        k.last_used_time.map_or_else(
                            || "never".into(),
                            |t| {
                                let t = t.time();
                                format!("{} ({})", rfc3339(t), ago((now - t).whole_seconds()))
                            },
                        ),
                        k.requests_last24_hours.to_string(),
                        if clients.is_empty() {
                            "-".into()
                        } else {
                            clients.join(", ")
                        },
                        match (
                            k.in_use.unwrap_or(false),
                            active.as_deref() == Some(k.key_kind.as_str()),
                        ) {
                            (true, true) => "ACTIVE: in use, do not regenerate".into(),
                            (true, false) => "IN USE: move clients first".into(),
                            (false, _) => "safe to regenerate".into(),
                        },
                        k.generation_time.to_string(),
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
            if v.is_null() {
                // Cosmos answers without a body, as Azure does; show the
                // account's key metadata instead.
                let shown = CosmosRegenerated {
                    key_kind: key.regenerate,
                    keys_metadata: keys_metadata(c, &base).await?,
                };
                let generated = shown
                    .keys_metadata
                    .get(key.slot)
                    .map(|m| m.generation_time.to_string())
                    .unwrap_or_default();
                return match c.output {
                    Output::Table | Output::Tsv => {
                        print_rows(
                            c.output,
                            &["KeyKind", "Generated"],
                            &[vec![shown.key_kind.to_string(), generated]],
                        );
                        Ok(())
                    }
                    _ => emit(c.output, &serde_json::to_value(&shown)?, &[]),
                };
            }
            match c.output {
                Output::Table | Output::Tsv => {
                    let keys: KeyList = serde_json::from_value(v)?;
                    print_rows(
                        c.output,
                        &["Key", "KeyKind", "Value", "Generated"],
                        &key_rows(k, &keys, None),
                    );
                    Ok(())
                }
                _ => emit(c.output, &v, &[]),
            }
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
        let rows = |kind, keys: Value| -> Vec<(String, String)> {
            let keys: KeyList = serde_json::from_value(keys).expect("a key list");
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
        let metadata: KeyMap<KeyMetadata> = serde_json::from_value(json!({
            "primaryMasterKey": {"generationTime": "2023-11-14T22:13:20.123456Z", "lastUsedTime": null}
        }))
        .expect("key metadata");
        let keys: KeyList =
            serde_json::from_value(json!({"primaryMasterKey": "a"})).expect("a key list");
        assert_eq!(
            key_rows(AccountKind::Cosmos, &keys, Some(&metadata)),
            vec![vec![
                "primaryMasterKey".to_string(),
                "primary".into(),
                "a".into(),
                "2023-11-14T22:13:20.123456Z".into()
            ]]
        );
    }
}
