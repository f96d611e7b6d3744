//! The activity log through the real binary: changes, key reads and a
//! refused change are entries (`keyrotor activity list`, Azure Monitor's
//! API underneath) with caller, operation, status and correlation id and no
//! key value; `keyrotor activity verify` passes on the untouched database
//! and fails, naming the entry, after an entry is edited, removed or
//! reordered in the SQLite file (server stopped).

mod common;

use std::path::Path;
use std::process::Command;

use common::{kr, kr_json, kr_run, scratch, Server, BIN};
use serde_json::Value;

/// `keyrotor activity verify --data-dir DIR`: (success, stdout, stderr).
fn verify(dir: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["activity", "verify", "--data-dir"])
        .arg(dir)
        .output()
        .expect("the CLI runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entry<'a>(entries: &'a [Value], operation: &str, status: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["operationName"]["value"] == operation && e["status"]["value"] == status)
        .unwrap_or_else(|| panic!("no {status} {operation} entry in {entries:#?}"))
}

#[test]
fn changes_reads_and_refusals_are_listed_and_tampering_is_detected() {
    let (_tmp, dir, port) = scratch();
    let server = Server::start(&dir, port);
    let caller = server.bootstrap()["clientId"]
        .as_str()
        .expect("the administrator's client id")
        .to_string();
    kr(
        &server,
        &["group", "create", "-n", "rg", "-l", "westus", "-o", "none"],
    );
    kr(
        &server,
        &[
            "account", "create", "--kind", "batch", "-n", "bat1", "-g", "rg", "-o", "none",
        ],
    );
    let regenerated = kr_json(
        &server,
        &[
            "keys",
            "regenerate",
            "-n",
            "bat1",
            "-g",
            "rg",
            "--key-kind",
            "primary",
        ],
    );
    let listed = kr_json(&server, &["keys", "list", "-n", "bat1", "-g", "rg"]);
    let (refused, _, _) = kr_run(
        &server,
        &[
            "keys",
            "regenerate",
            "-n",
            "nosuch",
            "-g",
            "rg",
            "--kind",
            "batch",
            "--key-kind",
            "primary",
        ],
    );
    assert!(!refused, "regenerating a missing account's key succeeded");

    let text = kr(&server, &["activity", "list", "-g", "rg", "--since", "1h"]);
    let entries: Vec<Value> = serde_json::from_str(&text).expect("a JSON list");
    let regen = entry(
        &entries,
        "Microsoft.Batch/batchAccounts/regenerateKeys/action",
        "Succeeded",
    );
    assert_eq!(regen["caller"], caller.as_str());
    assert_eq!(
        regen["resourceId"],
        format!(
            "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/bat1",
            server.bootstrap()["subscriptionId"]
                .as_str()
                .expect("subscription")
        )
    );
    assert_eq!(regen["resourceGroupName"], "rg");
    assert!(regen["correlationId"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert!(regen["eventTimestamp"].as_str().is_some());
    let read = entry(
        &entries,
        "Microsoft.Batch/batchAccounts/listKeys/action",
        "Succeeded",
    );
    assert_eq!(read["caller"], caller.as_str());
    let failed = entry(
        &entries,
        "Microsoft.Batch/batchAccounts/regenerateKeys/action",
        "Failed",
    );
    assert_eq!(failed["subStatus"]["value"], "NotFound", "{failed}");
    assert_eq!(failed["level"], "Error");
    // Newest first.
    let times: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["eventTimestamp"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // Nothing secret in any entry.
    for keys in [&regenerated, &listed] {
        for k in ["primary", "secondary"] {
            let v = keys[k].as_str().expect("a key value");
            assert!(!text.contains(v), "a key value is in the activity log");
        }
    }
    // --resource, the status filter and the table.
    let account_id = regen["resourceId"].as_str().expect("an id");
    let failures = kr_json(
        &server,
        &[
            "activity",
            "list",
            "--resource",
            account_id,
            "--status",
            "Failed",
        ],
    );
    assert_eq!(failures.as_array().map(Vec::len), Some(0), "{failures}");
    let table = kr(&server, &["activity", "list", "-g", "rg", "-o", "table"]);
    assert!(
        table.contains("regenerateKeys/action") && table.contains("Failed"),
        "{table}"
    );

    let (ok, out, err) = verify(&dir);
    assert!(ok, "an untouched log does not verify: {out}{err}");
    assert!(out.contains("intact"), "{out}");
    drop(server);

    // Fold the WAL into the file, then tamper with copies of it.
    let db = dir.join("keyrotor.db");
    {
        let c = rusqlite::Connection::open(&db).expect("the database opens");
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }
    let seqs: Vec<i64> = {
        let c = rusqlite::Connection::open(&db).expect("the database opens");
        let mut s = c
            .prepare("SELECT seq FROM audit WHERE hash IS NOT NULL ORDER BY seq")
            .expect("a query");
        let rows = s.query_map([], |r| r.get(0)).expect("rows");
        rows.collect::<Result<_, _>>().expect("sequence numbers")
    };
    assert!(seqs.len() >= 5, "{seqs:?}");
    let mid = seqs[seqs.len() / 2];
    let next = mid + 1;
    let last = *seqs.last().expect("entries");
    let cases: [(&str, String, &str); 4] = [
        (
            "edit",
            format!("UPDATE audit SET actor = 'someone-else' WHERE seq = {mid}"),
            "altered",
        ),
        (
            "delete",
            format!("DELETE FROM audit WHERE seq = {mid}"),
            "missing",
        ),
        (
            "reorder",
            format!(
                "UPDATE audit SET seq = -1 WHERE seq = {mid};
                 UPDATE audit SET seq = {mid} WHERE seq = {next};
                 UPDATE audit SET seq = {next} WHERE seq = -1;"
            ),
            "altered",
        ),
        (
            "drop the newest",
            format!("DELETE FROM audit WHERE seq = {last}"),
            "newest",
        ),
    ];
    for (name, sql, says) in cases {
        let copy = dir
            .parent()
            .expect("a parent")
            .join(format!("tampered-{}", name.replace(' ', "-")));
        std::fs::create_dir_all(&copy).expect("a directory");
        std::fs::copy(&db, copy.join("keyrotor.db")).expect("a copy");
        {
            let c = rusqlite::Connection::open(copy.join("keyrotor.db")).expect("the copy opens");
            c.execute_batch(&sql).expect("the tampering");
        }
        let (ok, out, err) = verify(&copy);
        assert!(!ok, "{name}: verify passed: {out}");
        assert!(err.contains("entry") && err.contains(says), "{name}: {err}");
        let expected = if name == "drop the newest" {
            last - 1
        } else {
            mid
        };
        assert!(
            err.contains(&expected.to_string()),
            "{name}: {err} does not name entry {expected}"
        );
    }
}
