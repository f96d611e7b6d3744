//! The `keyrotor` CLI as users run it: the real binary's client commands
//! against a real server, their JSON and their tables.

mod common;

use common::{api, kr, kr_json, scratch, sign_in, Server};

use std::time::{Duration, Instant};

/// The rows of an aligned table (header and rule skipped), split on runs of
/// two or more spaces; stops at the first empty line (a legend follows).
fn table_rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The cell under `header` in each row of an aligned table (by the
/// header's column position).
fn column(table: &str, header: &str) -> Vec<String> {
    let mut lines = table.lines();
    let head = lines.next().unwrap_or_default();
    let start = head
        .find(header)
        .unwrap_or_else(|| panic!("no column {header}: {table}"));
    let after = start + header.len();
    let end = head[after..].find(|c: char| c != ' ').map(|i| after + i);
    lines
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let cell = match end {
                Some(e) => l.get(start..e.min(l.len())).unwrap_or_default(),
                None => l.get(start..).unwrap_or_default(),
            };
            cell.trim().to_string()
        })
        .collect()
}

/// RFC 3339 in whole seconds, UTC: `2026-12-08T00:43:45Z`.
fn is_seconds_time(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || c.is_ascii_digit())
}

/// A group and one account of each kind, made with the CLI.
fn accounts(server: &Server) {
    kr(
        server,
        &["group", "create", "-n", "rg", "-l", "westus", "-o", "none"],
    );
    for (kind, name) in [("cosmos", "cdb1"), ("batch", "bat1"), ("ai", "ai1")] {
        kr(
            server,
            &[
                "account", "create", "--kind", kind, "-n", name, "-g", "rg", "-o", "none",
            ],
        );
    }
}

const ACCOUNTS: [(&str, &str, &str); 3] = [
    ("cdb1", "primaryMasterKey", "secondaryMasterKey"),
    ("bat1", "primary", "secondary"),
    ("ai1", "key1", "key2"),
];

/// `keys regenerate` prints the keys with the new one for every kind
/// (Cosmos DB's ARM answer has no body: the CLI lists the keys after it),
/// and key tables fill `Generated` for every kind, in seconds.
#[test]
fn keys_regenerate_prints_the_new_key_and_tables_date_every_key() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    accounts(&server);
    for (name, primary, secondary) in ACCOUNTS {
        let before = kr_json(&server, &["keys", "list", "-n", name, "-g", "rg"]);
        let after = kr_json(
            &server,
            &[
                "keys",
                "regenerate",
                "-n",
                name,
                "-g",
                "rg",
                "--key-kind",
                "secondary",
            ],
        );
        assert_eq!(after[primary], before[primary], "{name}: {after}");
        let new = after[secondary].as_str().unwrap_or_default();
        assert!(
            !new.is_empty() && after[secondary] != before[secondary],
            "{name}: no new key printed: {after}"
        );
        let listed = kr_json(&server, &["keys", "list", "-n", name, "-g", "rg"]);
        assert_eq!(listed[secondary], after[secondary], "{name}");

        for args in [
            vec!["keys", "list", "-n", name, "-g", "rg", "-o", "table"],
            vec![
                "keys",
                "regenerate",
                "-n",
                name,
                "-g",
                "rg",
                "--key-kind",
                "primary",
                "-o",
                "table",
            ],
        ] {
            let table = kr(&server, &args);
            let generated = column(&table, "Generated");
            assert!(generated.len() >= 2, "{table}");
            assert!(
                generated.iter().all(|g| is_seconds_time(g)),
                "{name}: Generated not in seconds: {table}"
            );
        }
    }
}

/// Uses the AI account's key `key` on its data plane (the request has no
/// upstream to reach, but it authenticates, which counts).
async fn use_ai_key(a: &common::Api, key: &str) {
    let r = a
        .http
        .get(format!("{}/ai/ai1/anything", a.base))
        .header("api-key", key)
        .header("user-agent", "cli-test/1.0")
        .send()
        .await
        .expect("the data plane answers");
    assert_ne!(r.status().as_u16(), 401, "the key was refused");
}

/// `keys usage -o table`: verdicts ACTIVE / IN USE / idle, explained
/// under the table and in `--help`; a regenerated key reads `never`
/// next to its slot's request count, which is labelled as the slot's.
#[test]
fn keys_usage_explains_its_verdicts_and_labels_slot_counts() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    accounts(&server);
    let keys = kr_json(&server, &["keys", "list", "-n", "ai1", "-g", "rg"]);
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let a = api(&server).await;
        use_ai_key(&a, keys["key1"].as_str().unwrap_or_default()).await;
        // Last use has second resolution: key2 is used later.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        use_ai_key(&a, keys["key2"].as_str().unwrap_or_default()).await;
    });
    let usage = ["keys", "usage", "-n", "ai1", "-g", "rg", "-o", "table"];
    let deadline = Instant::now() + Duration::from_secs(15);
    let table = loop {
        let table = kr(&server, &usage);
        if column(&table, "Verdict") == ["IN USE", "ACTIVE"] || Instant::now() > deadline {
            break table;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(column(&table, "Verdict"), ["IN USE", "ACTIVE"], "{table}");
    assert_eq!(column(&table, "SlotRequests24h"), ["1", "1"], "{table}");
    for word in [
        "Window: 15m.",
        "ACTIVE ",
        "IN USE ",
        "idle ",
        "SlotRequests24h counts",
    ] {
        assert!(table.contains(word), "the legend lacks {word:?}: {table}");
    }
    assert!(
        column(&table, "LastUsed")
            .iter()
            .all(|t| t.ends_with(" ago)")),
        "{table}"
    );
    // JSON is ARM's answer, without a legend.
    let json = kr_json(&server, &["keys", "usage", "-n", "ai1", "-g", "rg"]);
    assert_eq!(json["keys"][1]["inUse"], true, "{json}");
    // The help explains the verdicts too.
    let help = kr(&server, &["keys", "usage", "--help"]);
    for word in ["ACTIVE", "IN USE", "idle", "SlotRequests24h"] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
    // A regenerated key: never used, next to the slot's requests, idle.
    kr(
        &server,
        &[
            "keys",
            "regenerate",
            "-n",
            "ai1",
            "-g",
            "rg",
            "--key-kind",
            "key2",
            "--force",
            "-o",
            "none",
        ],
    );
    let table = kr(&server, &usage);
    let rows = table_rows(&table);
    assert_eq!(rows[1][0], "key2", "{table}");
    assert_eq!(column(&table, "LastUsed")[1], "never", "{table}");
    assert_eq!(column(&table, "SlotRequests24h")[1], "1", "{table}");
    // key1 is the only key used now: the one clients depend on.
    assert_eq!(column(&table, "Verdict"), ["ACTIVE", "idle"], "{table}");
    assert_eq!(column(&table, "Clients")[1], "-", "{table}");
}

/// Times in tables are RFC 3339 in seconds (break-glass too), absent ones
/// read `never`, and clients are a readable list, not JSON.
#[test]
fn auth_status_prints_seconds_never_and_readable_clients() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    accounts(&server);
    let keys = kr_json(&server, &["keys", "list", "-n", "ai1", "-g", "rg"]);
    kr(
        &server,
        &[
            "auth",
            "disable-local",
            "-n",
            "ai1",
            "-g",
            "rg",
            "--report-only",
            "-o",
            "none",
        ],
    );
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let a = api(&server).await;
        use_ai_key(&a, keys["key1"].as_str().unwrap_or_default()).await;
    });
    kr(
        &server,
        &[
            "auth",
            "disable-local",
            "-n",
            "ai1",
            "-g",
            "rg",
            "--force",
            "-o",
            "none",
        ],
    );
    kr(
        &server,
        &[
            "auth",
            "enable-local",
            "-n",
            "ai1",
            "-g",
            "rg",
            "--for",
            "2h",
            "-o",
            "none",
        ],
    );
    let status = ["auth", "status", "-n", "ai1", "-g", "rg", "-o", "table"];
    let deadline = Instant::now() + Duration::from_secs(15);
    let table = loop {
        let table = kr(&server, &status);
        if column(
            &table.lines().skip(1).collect::<Vec<_>>().join("\n"),
            "Clients",
        )[0] != "-"
            || Instant::now() > deadline
        {
            break table;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let first = table.lines().next().unwrap_or_default();
    let until = first
        .strip_prefix("local auth: disabled, re-enabled until ")
        .and_then(|r| r.strip_suffix(" (break-glass)"))
        .unwrap_or_else(|| panic!("{first}"));
    assert!(
        is_seconds_time(until),
        "break-glass time not in seconds: {first}"
    );
    let keys_table = table.lines().skip(1).collect::<Vec<_>>().join("\n");
    let clients = column(&keys_table, "Clients");
    assert!(
        clients[0] == "cli-test/1.0 @ 127.0.0.1",
        "clients as JSON: {table}"
    );
    assert_eq!(clients[1], "-", "{table}");
    let last_used = column(&keys_table, "LastUsed");
    assert!(is_seconds_time(&last_used[0]), "{table}");
    assert_eq!(last_used[1], "never", "{table}");
}

/// Service principal secrets show created, expires and last-used times;
/// the signing keys are listed, which one signs and when each was
/// superseded.
#[test]
fn identity_lists_secret_times_and_signing_keys() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    let created = kr_json(
        &server,
        &[
            "identity",
            "sp",
            "create",
            "-n",
            "billing",
            "--secret-expires",
            "90d",
        ],
    );
    let client_id = created["clientId"]
        .as_str()
        .expect("a client id")
        .to_string();
    let first = created["secret"]["value"]
        .as_str()
        .expect("a secret")
        .to_string();
    let added = kr_json(
        &server,
        &["identity", "sp", "secret", "add", "--id", &client_id],
    );
    let second = added["value"].as_str().expect("a secret").to_string();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let a = api(&server).await;
        sign_in(&a.http, &server.bootstrap(), &client_id, &first)
            .await
            .expect("the first secret signs in");
    });
    let table = kr(
        &server,
        &[
            "identity", "sp", "secret", "list", "--id", &client_id, "-o", "table",
        ],
    );
    let ids = column(&table, "SecretId");
    assert_eq!(
        ids,
        [
            created["secret"]["secretId"].as_str().unwrap_or_default(),
            added["secretId"].as_str().unwrap_or_default()
        ],
        "{table}"
    );
    assert!(
        column(&table, "Created").iter().all(|t| is_seconds_time(t)),
        "{table}"
    );
    let expires = column(&table, "Expires");
    assert!(
        is_seconds_time(&expires[0]) && expires[1] == "never",
        "{table}"
    );
    let last_used = column(&table, "LastUsed");
    assert!(is_seconds_time(&last_used[0]), "{table}");
    assert_eq!(last_used[1], "never", "{table}");
    let listed = kr_json(&server, &["identity", "sp", "list"]);
    let sp = listed
        .as_array()
        .and_then(|l| l.iter().find(|p| p["clientId"] == client_id.as_str()))
        .expect("the principal is listed");
    assert!(sp["secrets"][0]["lastUsedTime"].is_string(), "{sp}");
    assert!(sp["secrets"][1]["lastUsedTime"].is_null(), "{sp}");
    assert!(sp["secrets"][1]["createdTime"].is_string(), "{sp}");
    let table = kr(&server, &["identity", "sp", "list", "-o", "table"]);
    let last_sign_in = column(&table, "LastSignIn");
    let ids = column(&table, "ClientId");
    let row = ids
        .iter()
        .position(|i| *i == client_id)
        .expect("the principal's row");
    assert!(is_seconds_time(&last_sign_in[row]), "{table}");
    let log = server.log();
    assert!(
        !log.contains(&first) && !log.contains(&second),
        "a secret reached the log"
    );

    let keys = kr_json(&server, &["identity", "signing-key", "list"]);
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");
    assert_eq!(keys[0]["signing"], true);
    let rotated = kr_json(&server, &["identity", "signing-key", "rotate"]);
    let table = kr(&server, &["identity", "signing-key", "list", "-o", "table"]);
    assert_eq!(
        column(&table, "Kid").last().map(String::as_str),
        rotated["signingKid"].as_str(),
        "{table}"
    );
    assert_eq!(column(&table, "Signing"), ["false", "true"], "{table}");
    let superseded = column(&table, "Superseded");
    assert!(
        is_seconds_time(&superseded[0]) && superseded[1] == "never",
        "{table}"
    );
}

/// `role assignment list` shows principals' display names, and the
/// assignments at parent scopes only with --include-inherited.
#[test]
fn role_assignment_list_names_principals_and_includes_inherited_on_request() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    kr(
        &server,
        &["group", "create", "-n", "rg", "-l", "westus", "-o", "none"],
    );
    let sp = kr_json(
        &server,
        &["identity", "sp", "create", "-n", "report-reader"],
    );
    let id = sp["clientId"].as_str().expect("a client id").to_string();
    kr(
        &server,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            &id,
            "--role",
            "Reader",
            "-o",
            "none",
        ],
    );
    kr(
        &server,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            &id,
            "--role",
            "Keyrotor Key Operator",
            "-g",
            "rg",
            "-o",
            "none",
        ],
    );
    let at_group = kr(
        &server,
        &["role", "assignment", "list", "-g", "rg", "-o", "table"],
    );
    assert_eq!(
        column(&at_group, "Role"),
        ["Keyrotor Key Operator"],
        "{at_group}"
    );
    assert_eq!(
        column(&at_group, "Principal"),
        ["report-reader"],
        "{at_group}"
    );
    assert_eq!(
        column(&at_group, "PrincipalId"),
        [id.as_str()],
        "{at_group}"
    );
    let inherited = kr(
        &server,
        &[
            "role",
            "assignment",
            "list",
            "-g",
            "rg",
            "--include-inherited",
            "-o",
            "table",
        ],
    );
    let mut roles = column(&inherited, "Role");
    roles.sort();
    assert_eq!(roles, ["Keyrotor Key Operator", "Reader"], "{inherited}");
    let json = kr_json(
        &server,
        &[
            "role",
            "assignment",
            "list",
            "-g",
            "rg",
            "--include-inherited",
            "--assignee",
            &id,
        ],
    );
    let names: Vec<&str> = json
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|a| a["properties"]["principalName"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, ["report-reader", "report-reader"], "{json}");
    // A Reader (no right to list keyrotor's principals) sees the names too:
    // they come from the directory, which every principal may read.
    let secret = sp["secret"]["value"]
        .as_str()
        .expect("a secret")
        .to_string();
    let as_reader = kr(
        &server,
        &[
            "role",
            "assignment",
            "list",
            "-g",
            "rg",
            "--include-inherited",
            "-o",
            "table",
            "--client-id",
            &id,
            "--client-secret",
            &secret,
        ],
    );
    assert_eq!(
        column(&as_reader, "Principal"),
        ["report-reader", "report-reader"],
        "{as_reader}"
    );
}

/// `vault create` takes the group's location; `vault show`; key tables
/// print times in seconds; `policy show` shows the rotate trigger; `policy
/// run` says what it did.
#[test]
fn vault_commands_show_locations_triggers_and_what_a_run_did() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(&tmp.path().join("data"), 0, &["--test-clock"]);
    kr(
        &server,
        &["group", "create", "-n", "rg", "-l", "eastus", "-o", "none"],
    );
    let admin = server.bootstrap()["clientId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    kr(
        &server,
        &[
            "role",
            "assignment",
            "create",
            "--assignee",
            &admin,
            "--role",
            "Key Vault Administrator",
            "-g",
            "rg",
            "-o",
            "none",
        ],
    );
    let created = kr_json(&server, &["vault", "create", "-n", "kv-cli", "-g", "rg"]);
    assert_eq!(created["location"], "eastus", "{created}");
    let shown = kr_json(&server, &["vault", "show", "-n", "kv-cli", "-g", "rg"]);
    assert_eq!(shown["name"], "kv-cli");
    assert_eq!(shown["location"], "eastus");
    let table = kr(
        &server,
        &["vault", "show", "-n", "kv-cli", "-g", "rg", "-o", "table"],
    );
    assert_eq!(column(&table, "Location"), ["eastus"], "{table}");

    kr(
        &server,
        &[
            "vault", "key", "create", "--vault", "kv-cli", "-n", "k1", "-o", "none",
        ],
    );
    let keys = kr(
        &server,
        &["vault", "key", "list", "--vault", "kv-cli", "-o", "table"],
    );
    assert!(
        is_seconds_time(&column(&keys, "Created")[0]),
        "epoch seconds in a table: {keys}"
    );
    assert_eq!(column(&keys, "Expires"), ["never"], "{keys}");
    kr(
        &server,
        &[
            "vault", "secret", "set", "--vault", "kv-cli", "-n", "s1", "--value", "v", "-o", "none",
        ],
    );
    let secrets = kr(
        &server,
        &[
            "vault", "secret", "list", "--vault", "kv-cli", "-o", "table",
        ],
    );
    assert!(
        is_seconds_time(&column(&secrets, "Updated")[0]),
        "{secrets}"
    );

    kr(
        &server,
        &[
            "vault",
            "key",
            "policy",
            "set",
            "--vault",
            "kv-cli",
            "-n",
            "k1",
            "--rotate-after",
            "P30D",
            "--expires-in",
            "P90D",
            "-o",
            "none",
        ],
    );
    let policy = kr(
        &server,
        &[
            "vault", "key", "policy", "show", "--vault", "kv-cli", "-n", "k1", "-o", "table",
        ],
    );
    assert_eq!(
        column(&policy, "Rotate"),
        ["P30D after creation"],
        "{policy}"
    );
    assert_eq!(column(&policy, "Notify"), ["never"], "{policy}");
    let json = kr_json(
        &server,
        &[
            "vault", "key", "policy", "show", "--vault", "kv-cli", "-n", "k1",
        ],
    );
    assert_eq!(
        json["lifetimeActions"][0]["trigger"]["timeAfterCreate"], "P30D",
        "{json}"
    );

    let nothing = kr(&server, &["vault", "key", "policy", "run", "-o", "table"]);
    assert!(nothing.starts_with("nothing due"), "{nothing}");
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(31);
    let at = later
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time");
    let ran = kr(
        &server,
        &["vault", "key", "policy", "run", "--at", &at, "-o", "table"],
    );
    assert_eq!(column(&ran, "Key"), ["k1"], "{ran}");
    assert!(ran.contains("rotated 1 key(s)"), "{ran}");
}
