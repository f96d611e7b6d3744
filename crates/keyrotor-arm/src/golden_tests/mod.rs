//! Golden tests of the ARM wire shapes: every response body `dto` renders,
//! for fixed inputs, compared with `testdata/wire-golden.txt` (recorded
//! from the hand-written `serde_json::Value` renderer before the typed
//! wire layer replaced it), and what every request parser makes of a table
//! of bodies (the stored document, the settings, or the error code).
//!
//! `KEYROTOR_BLESS=1 cargo test -p keyrotor-arm golden` rewrites the file;
//! a change there is a change of what clients see.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use keyrotor_core::rbac::{RoleAssignment, BUILTIN_ROLES};
use keyrotor_core::usage::ClientSeen;
use keyrotor_core::vault::{Vault, VaultSettings};
use keyrotor_core::{
    Account, AccountKey, AccountSettings, Directory, KeyInfo, KeyUsage, Principal, PrincipalSecret,
    ResourceGroup,
};
use keyrotor_types::{
    AccountKind, AccountName, KeySlot, ResourceGroupName, Secret, SubscriptionId, VaultName,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::dto;
use crate::endpoints::Endpoints;
use crate::error::ArmError;

mod parse_cases;
mod render_cases;

use parse_cases::parse_cases;
use render_cases::cases;

const GOLDEN: &str = include_str!("../../testdata/wire-golden.txt");
const SUB: &str = "0f3c2a1b-4d5e-4f60-8a7b-9c0d1e2f3a4b";

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(1_700_000_000 + secs) * 1_000_000_000 + 123_456_789,
    )
    .expect("a time in range")
}

fn sub() -> SubscriptionId {
    SubscriptionId::parse(SUB).expect("a subscription id")
}

fn group() -> ResourceGroupName {
    ResourceGroupName::parse("rg-Golden").expect("a group name")
}

fn tags() -> BTreeMap<String, String> {
    [("env", "test"), ("empty", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn account(
    kind: AccountKind,
    name: &str,
    document: Value,
    tags: BTreeMap<String, String>,
) -> Account {
    Account {
        id: 7,
        uid: "5d41402a-bc4b-4a76-b971-9d911017c592".into(),
        kind,
        subscription: sub(),
        resource_group: group(),
        name: AccountName::parse(kind, name).expect("an account name"),
        location: "westus".into(),
        tags,
        settings: crate::dto::settings(kind, &document.to_string()).unwrap_or_default(),
        document: if document.is_null() {
            String::new()
        } else {
            document.to_string()
        },
        created_at: t(0),
        updated_at: t(3600),
    }
}

fn key_infos(kind: AccountKind) -> Vec<KeyInfo> {
    kind.slots()
        .iter()
        .enumerate()
        .map(|(i, &slot)| KeyInfo {
            slot,
            generation: i as u64 + 1,
            generated_at: t(i as i64 * 60),
        })
        .collect()
}

fn keys(kind: AccountKind) -> Vec<AccountKey> {
    kind.slots()
        .iter()
        .enumerate()
        .map(|(i, &slot)| AccountKey {
            slot,
            value: Secret::new(format!("key-{}-{i}", slot.as_str())),
            generation: i as u64 + 1,
            generated_at: t(i as i64 * 60),
        })
        .collect()
}

fn client(agent: &str, address: &str, at: OffsetDateTime, requests: u64) -> ClientSeen {
    ClientSeen {
        user_agent: agent.into(),
        address: address.into(),
        last_seen: at.unix_timestamp(),
        requests,
    }
}

fn usage() -> Vec<KeyUsage> {
    vec![
        KeyUsage {
            slot: KeySlot::Primary,
            generation: 1,
            would_reject: 3,
            last_used: Some(t(7200)),
            hourly: vec![(t(0), 5), (t(3600), 7), (t(-40 * 86_400), 11)],
            clients: vec![
                client("sdk/1.0", "10.0.0.1", t(7200), 9),
                client("curl/8", "10.0.0.2", t(3000), 3),
            ],
        },
        KeyUsage {
            slot: KeySlot::Secondary,
            generation: 2,
            would_reject: 0,
            last_used: None,
            hourly: vec![],
            clients: vec![],
        },
    ]
}

fn vault(document: Value, purge_protection: bool, deleted: bool) -> Vault {
    Vault {
        id: 3,
        uid: "a-uid".into(),
        subscription: sub(),
        resource_group: group(),
        name: VaultName::parse("kv-golden").expect("a vault name"),
        location: "eastus".into(),
        tags: tags(),
        document: if document.is_null() {
            String::new()
        } else {
            document.to_string()
        },
        settings: VaultSettings {
            soft_delete_days: 30,
            purge_protection,
        },
        created_at: t(0),
        updated_at: t(10),
        deleted_at: deleted.then(|| t(500)),
    }
}

/// What a parser answered: its value as JSON, or the error's code.
fn outcome<T>(r: Result<T, ArmError>, show: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(v) => json!({ "ok": show(v) }),
        Err(e) => json!({ "error": e.status_and_code().1 }),
    }
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn settings_json(s: AccountSettings) -> Value {
    json!({
        "disable_local_auth": s.disable_local_auth,
        "upstream": s.upstream,
        "regeneration_guard_minutes": s.regeneration_guard_minutes,
        "local_auth_report_only": s.local_auth_report_only,
        "local_auth_reenabled_until": s.local_auth_reenabled_until,
    })
}

fn render(v: &dyn erased::Render) -> Value {
    v.value()
}

/// Lets `cases` take what each renderer returns (a `Value` today, a typed
/// DTO later) and see it as the wire does.
mod erased {
    pub trait Render {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Render for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_else(|e| serde_json::Value::String(e.to_string()))
        }
    }
}

fn rendered() -> String {
    let mut s = String::new();
    for (name, v) in cases() {
        let _ = writeln!(s, "## {name}");
        let _ = writeln!(s, "{v}");
    }
    s
}

#[test]
fn golden_wire_shapes() {
    let got = rendered();
    if std::env::var_os("KEYROTOR_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wire-golden.txt");
        std::fs::write(path, &got).expect("the golden file is writable");
        return;
    }
    let want: Vec<&str> = GOLDEN.lines().collect();
    let got_lines: Vec<&str> = got.lines().collect();
    for (i, (w, g)) in want.iter().zip(&got_lines).enumerate() {
        assert_eq!(
            g,
            w,
            "line {} differs (case {})",
            i + 1,
            case_of(&got_lines, i)
        );
    }
    assert_eq!(got_lines.len(), want.len(), "number of lines");
}

fn case_of(lines: &[&str], i: usize) -> String {
    lines[..=i]
        .iter()
        .rev()
        .find(|l| l.starts_with("## "))
        .map_or_else(String::new, |l| l.to_string())
}
