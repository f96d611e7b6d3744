//! `keyrotor account create|update` and the break-glass state, through the
//! real CLI against the real server: an update changes only what it is
//! given, `create` on an existing account resets nothing, and while
//! break-glass lasts ARM shows key auth as on, with its end.

mod common;

use std::process::Command;

use common::{kr_json, kr_run, scratch, Server, BIN};
use serde_json::Value;

/// [`kr_json`]: the CLI's JSON answer, which must be a success.
fn ok(server: &Server, args: &[&str]) -> Value {
    kr_json(server, args)
}

/// The CLI, which must fail: its error output.
fn refused(server: &Server, args: &[&str]) -> String {
    let (success, out, err) = kr_run(server, args);
    assert!(!success, "keyrotor {} succeeded: {out}", args.join(" "));
    err
}

fn region_names(account: &Value) -> Vec<String> {
    account["properties"]["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| l["locationName"].as_str().expect("a name").to_string())
        .collect()
}

#[test]
fn update_changes_only_what_it_is_given_and_create_resets_nothing() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    ok(&server, &["group", "create", "-n", "rg1", "-l", "westus"]);
    let created = ok(
        &server,
        &[
            "account",
            "create",
            "--kind",
            "cosmos",
            "-g",
            "rg1",
            "-n",
            "docdb1",
            "--locations",
            "China East=0",
            "China North=1",
            "--default-consistency-level",
            "BoundedStaleness",
            "--max-interval",
            "10",
            "--max-staleness-prefix",
            "200",
            "--tags",
            "team=billing",
        ],
    );
    assert_eq!(region_names(&created), ["China East", "China North"]);

    // `create` again with one more option: nothing else is reset.
    let (success, again, stderr) = kr_run(
        &server,
        &[
            "account",
            "create",
            "--kind",
            "cosmos",
            "-g",
            "rg1",
            "-n",
            "docdb1",
            "--regeneration-guard-minutes",
            "5",
        ],
    );
    assert!(success, "{stderr}");
    assert!(stderr.contains("exists"), "says it updated: {stderr}");
    let again: Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!(region_names(&again), ["China East", "China North"]);
    let p = &again["properties"];
    assert_eq!(
        p["consistencyPolicy"]["defaultConsistencyLevel"],
        "BoundedStaleness"
    );
    assert_eq!(p["consistencyPolicy"]["maxIntervalInSeconds"], 10);
    assert_eq!(p["regenerationGuardMinutes"], 5);
    assert_eq!(again["tags"]["team"], "billing");

    // `update`: tags replaced, the guard removed with 0, regions kept.
    let updated = ok(
        &server,
        &[
            "account", "update", "-g", "rg1", "-n", "docdb1", "--tags", "env=prod",
        ],
    );
    assert_eq!(updated["tags"], serde_json::json!({"env": "prod"}));
    assert_eq!(updated["properties"]["regenerationGuardMinutes"], 5);
    let updated = ok(
        &server,
        &[
            "account",
            "update",
            "-g",
            "rg1",
            "-n",
            "docdb1",
            "--regeneration-guard-minutes",
            "0",
        ],
    );
    assert!(
        updated["properties"]["regenerationGuardMinutes"].is_null(),
        "{updated}"
    );
    assert_eq!(region_names(&updated), ["China East", "China North"]);
    assert_eq!(updated["tags"]["env"], "prod");

    // Mistakes are refused and change nothing.
    let e = refused(&server, &["account", "update", "-g", "rg1", "-n", "docdb1"]);
    assert!(e.contains("nothing to change"), "{e}");
    let e = refused(
        &server,
        &[
            "account",
            "update",
            "-g",
            "rg1",
            "-n",
            "docdb1",
            "--upstream",
            "http://127.0.0.1:9",
        ],
    );
    assert!(e.contains("AI Services accounts only"), "{e}");
    let e = refused(
        &server,
        &[
            "account", "create", "--kind", "cosmos", "-g", "rg1", "-n", "docdb1", "-l", "eastus",
        ],
    );
    assert!(e.contains("location cannot change"), "{e}");
    let e = refused(
        &server,
        &[
            "account",
            "create",
            "--kind",
            "cosmos",
            "-g",
            "rg1",
            "-n",
            "docdb1",
            "--api-kind",
            "MongoDB",
        ],
    );
    assert!(e.contains("cannot change"), "{e}");
    let e = refused(
        &server,
        &[
            "account",
            "create",
            "--kind",
            "batch",
            "-g",
            "nosuchgroup",
            "-n",
            "batch1",
        ],
    );
    assert!(e.contains("ResourceGroupNotFound"), "{e}");
    // An option that does not apply to the existing account's kind is
    // refused, not taken as "nothing to change".
    ok(
        &server,
        &[
            "account", "create", "--kind", "batch", "-g", "rg1", "-n", "batch1",
        ],
    );
    let e = refused(
        &server,
        &[
            "account", "create", "--kind", "batch", "-g", "rg1", "-n", "batch1", "--sku", "S1",
        ],
    );
    assert!(
        e.contains("--sku applies to AI Services accounts only"),
        "{e}"
    );
    let (success, _, said) = kr_run(
        &server,
        &[
            "account", "create", "--kind", "batch", "-g", "rg1", "-n", "batch1",
        ],
    );
    assert!(success && said.contains("nothing to change"), "{said}");
    let shown = ok(&server, &["account", "show", "-g", "rg1", "-n", "docdb1"]);
    assert_eq!(shown["tags"], serde_json::json!({"env": "prod"}));
    assert_eq!(
        shown["properties"]["consistencyPolicy"]["maxStalenessPrefix"],
        200
    );
}

#[test]
fn break_glass_is_visible_in_arm_and_survives_unrelated_updates() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    ok(&server, &["group", "create", "-n", "rg1", "-l", "westus"]);
    for (kind, name) in [
        ("cosmos", "glass-cosmos"),
        ("batch", "glassbatch"),
        ("ai", "glass-ai"),
    ] {
        ok(
            &server,
            &["account", "create", "--kind", kind, "-g", "rg1", "-n", name],
        );
        let show = || ok(&server, &["account", "show", "-g", "rg1", "-n", name]);
        let keys_accepted = |a: &Value| match kind {
            "batch" => a["properties"]["allowedAuthenticationModes"]
                .as_array()
                .expect("modes")
                .contains(&Value::from("SharedKey")),
            _ => a["properties"]["disableLocalAuth"] == false,
        };
        assert_eq!(show()["properties"]["localAuthMode"], "Enabled");

        // Off (nobody used a key: the guard lets it through).
        let off = ok(
            &server,
            &[
                "account",
                "update",
                "-g",
                "rg1",
                "-n",
                name,
                "--disable-local-auth",
            ],
        );
        assert_eq!(off["properties"]["localAuthMode"], "Disabled", "{off}");
        assert!(!keys_accepted(&off), "{off}");

        // Break-glass: ARM says keys are accepted, and until when.
        ok(
            &server,
            &[
                "auth",
                "enable-local",
                "-g",
                "rg1",
                "-n",
                name,
                "--for",
                "2h",
            ],
        );
        let glass = show();
        assert_eq!(
            glass["properties"]["localAuthMode"], "TemporarilyEnabled",
            "{glass}"
        );
        assert!(keys_accepted(&glass), "{glass}");
        let until = glass["properties"]["localAuthReenabledUntil"]
            .as_str()
            .expect("the end of break-glass")
            .to_string();
        assert!(!until.contains('.'), "whole seconds: {until}");
        let status = ok(&server, &["auth", "status", "-g", "rg1", "-n", name]);
        assert!(
            status["localAuth"]
                .as_str()
                .is_some_and(|s| s.contains("break-glass")),
            "{status}"
        );

        // An unrelated update during break-glass keeps the switch off, and
        // break-glass can be extended (the account still counts as off).
        let tagged = ok(
            &server,
            &[
                "account", "update", "-g", "rg1", "-n", name, "--tags", "x=1",
            ],
        );
        assert_eq!(tagged["properties"]["localAuthMode"], "TemporarilyEnabled");
        ok(
            &server,
            &[
                "auth",
                "enable-local",
                "-g",
                "rg1",
                "-n",
                name,
                "--for",
                "3h",
            ],
        );
        assert_eq!(show()["properties"]["localAuthMode"], "TemporarilyEnabled");

        // On for good.
        let on = ok(
            &server,
            &[
                "account",
                "update",
                "-g",
                "rg1",
                "-n",
                name,
                "--disable-local-auth",
                "false",
            ],
        );
        assert_eq!(on["properties"]["localAuthMode"], "Enabled", "{on}");
        assert!(keys_accepted(&on));
        assert!(
            on["properties"]["localAuthReenabledUntil"].is_null(),
            "{on}"
        );
    }
}

/// `keyrotor <path> --help`: the help text.
fn help(path: &[String]) -> String {
    let out = Command::new(BIN)
        .args(path)
        .arg("--help")
        .output()
        .expect("the CLI runs");
    assert!(out.status.success(), "{path:?} --help");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a help text lists (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, rest)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_client_flag_is_described_and_connection_flags_have_their_heading() {
    let mut todo = vec![vec!["group".to_string()]];
    for top in ["account", "identity", "auth", "keys", "vault", "role"] {
        todo.push(vec![top.to_string()]);
    }
    let mut checked = 0;
    while let Some(path) = todo.pop() {
        let text = help(&path);
        let subs = subcommands(&text);
        if !subs.is_empty() {
            for s in subs {
                let mut p = path.clone();
                p.push(s);
                todo.push(p);
            }
            continue;
        }
        checked += 1;
        let (own, connection) = text
            .split_once("\nConnection:\n")
            .unwrap_or_else(|| panic!("{path:?}: no Connection heading:\n{text}"));
        assert!(connection.contains("--bootstrap"), "{path:?}: {text}");
        assert!(
            !own.contains("--bootstrap"),
            "{path:?}: connection flags among its own"
        );
        let lines: Vec<&str> = own.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with('-') || line.contains("--help") {
                continue;
            }
            // clap puts the description after two spaces, or on the next
            // line (indented) when the line is long.
            let same_line = line
                .trim()
                .split("  ")
                .filter(|p| !p.trim().is_empty())
                .count()
                > 1;
            let next_line = lines
                .get(i + 1)
                .is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
            assert!(
                same_line || next_line,
                "{path:?}: '{}' has no description",
                line.trim()
            );
        }
    }
    assert!(checked > 30, "walked only {checked} commands");
}

#[test]
fn keys_regenerate_takes_az_key_name_spelling() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    ok(&server, &["group", "create", "-n", "rg1", "-l", "westus"]);
    ok(
        &server,
        &[
            "account", "create", "--kind", "batch", "-g", "rg1", "-n", "keyname1",
        ],
    );
    let before = ok(&server, &["keys", "list", "-g", "rg1", "-n", "keyname1"]);
    ok(
        &server,
        &[
            "keys",
            "regenerate",
            "-g",
            "rg1",
            "-n",
            "keyname1",
            "--key-name",
            "secondary",
        ],
    );
    let after = ok(&server, &["keys", "list", "-g", "rg1", "-n", "keyname1"]);
    assert_eq!(before["primary"], after["primary"]);
    assert_ne!(before["secondary"], after["secondary"]);
}

#[test]
fn a_missing_group_is_named_as_such_and_az_spellings_work() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    ok(&server, &["group", "create", "-n", "rg1", "-l", "westus"]);
    // Without --kind the CLI looks the account up in every kind first.
    for cmd in [
        &["keys", "list", "-g", "nosuchgroup", "-n", "acct1"][..],
        &["auth", "status", "-g", "nosuchgroup", "-n", "acct1"],
        &["vault", "show", "-g", "nosuchgroup", "-n", "vault1"],
    ] {
        let e = refused(&server, cmd);
        assert!(e.contains("ResourceGroupNotFound"), "{cmd:?}: {e}");
    }
    let e = refused(&server, &["keys", "list", "-g", "rg1", "-n", "acct1"]);
    assert!(e.contains("no account named 'acct1'"), "{e}");

    // az's --vault-name.
    let admin = server.bootstrap()["clientId"]
        .as_str()
        .expect("client id")
        .to_string();
    ok(&server, &["vault", "create", "-n", "azspell", "-g", "rg1"]);
    ok(
        &server,
        &[
            "role",
            "assignment",
            "create",
            "--role",
            "Key Vault Administrator",
            "-g",
            "rg1",
            "--assignee",
            &admin,
        ],
    );
    let (success, _, err) = kr_run(
        &server,
        &["vault", "key", "list", "--vault-name", "azspell"],
    );
    // The vault's host name may not resolve on this machine; the flag parses
    // either way (clap would refuse an unknown flag with exit status 2).
    assert!(success || !err.contains("unexpected argument"), "{err}");
}

#[test]
fn principal_names_do_not_depend_on_how_the_server_is_reached() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    ok(&server, &["group", "create", "-n", "rg1", "-l", "westus"]);
    let sp = ok(&server, &["identity", "sp", "create", "-n", "named-app"]);
    let app = sp["clientId"].as_str().expect("client id").to_string();
    ok(
        &server,
        &[
            "role",
            "assignment",
            "create",
            "--role",
            "Reader",
            "-g",
            "rg1",
            "--assignee",
            &app,
        ],
    );
    // `localhost` instead of the bootstrap's 127.0.0.1.
    let endpoint = format!("https://localhost:{}", server.port);
    let list = ok(
        &server,
        &[
            "role",
            "assignment",
            "list",
            "-g",
            "rg1",
            "--endpoint",
            &endpoint,
        ],
    );
    let names: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|a| a["properties"]["principalName"].as_str())
        .collect();
    assert!(names.contains(&"named-app"), "{list}");
}
