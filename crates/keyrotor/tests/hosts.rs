//! `keyrotor hosts` against the real binary: the lines it prints for vaults
//! (and for account hosts under `--dns-suffix`), and `--apply` / `--remove`
//! on a hosts file in a temporary directory.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{scratch, Server, BIN};

/// Runs the CLI against the server whose data directory is `dir`.
fn kr(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("KEYROTOR_BOOTSTRAP", dir.join("bootstrap.json"))
        .output()
        .expect("the CLI runs")
}

/// [`kr`], which must succeed; its standard output.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = kr(dir, args);
    assert!(
        out.status.success(),
        "keyrotor {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn apply_keeps_one_marked_block_and_remove_restores_the_file() {
    let (_tmp, dir, port) = scratch();
    let mut server = Server::start(&dir, port);
    ok(
        &dir,
        &["group", "create", "-n", "rg1", "-l", "westus", "-o", "none"],
    );
    for v in ["kv-a", "KV-B"] {
        ok(
            &dir,
            &["vault", "create", "-n", v, "-g", "rg1", "-o", "none"],
        );
    }
    // Path-scheme accounts need no names.
    ok(
        &dir,
        &[
            "account", "create", "--kind", "cosmos", "-n", "cos1", "-g", "rg1", "-o", "none",
        ],
    );

    let printed = ok(&dir, &["hosts"]);
    assert_eq!(
        printed,
        "127.0.0.1 kv-a.vault.localhost\n127.0.0.1 kv-b.vault.localhost\n"
    );

    let hosts = dir.parent().expect("scratch").join("hosts");
    let original = "127.0.0.1\tlocalhost\n# keep me\n10.0.0.1 db";
    std::fs::write(&hosts, original).expect("hosts file");
    let file = hosts.to_str().expect("a UTF-8 path");
    let key = std::fs::canonicalize(&dir).expect("data dir");
    let key = key.display();

    let said = ok(&dir, &["hosts", "--apply", "--hosts-file", file]);
    assert!(
        said.contains("added 127.0.0.1 kv-a.vault.localhost"),
        "{said}"
    );
    let applied = std::fs::read_to_string(&hosts).expect("read");
    let block_at = applied
        .find(&format!("# BEGIN keyrotor {key}\n"))
        .expect("the block names the data directory");
    assert_eq!(&applied[..block_at], format!("{original}\n"));
    assert!(applied.ends_with(&format!(
        "127.0.0.1 kv-a.vault.localhost\n127.0.0.1 kv-b.vault.localhost\n# END keyrotor {key}\n"
    )));

    // Again: nothing to do, nothing written.
    let said = ok(&dir, &["hosts", "--apply", "--hosts-file", file]);
    assert!(said.contains("up to date (2 names)"), "{said}");
    assert_eq!(std::fs::read_to_string(&hosts).expect("read"), applied);

    // A deleted vault's name goes; another address replaces every line.
    ok(
        &dir,
        &["vault", "delete", "-n", "kv-a", "-g", "rg1", "--yes"],
    );
    let said = ok(
        &dir,
        &[
            "hosts",
            "--apply",
            "--hosts-file",
            file,
            "--address",
            "10.9.8.7",
        ],
    );
    assert!(
        said.contains("removed 127.0.0.1 kv-a.vault.localhost"),
        "{said}"
    );
    assert!(
        said.contains("added 10.9.8.7 kv-b.vault.localhost"),
        "{said}"
    );
    let text = std::fs::read_to_string(&hosts).expect("read");
    assert!(!text.contains("kv-a") && text.contains("10.9.8.7 kv-b.vault.localhost\n"));

    // --hosts-file alone would print, not write: refused, not ignored.
    let out = kr(&dir, &["hosts", "--hosts-file", file]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--apply or --remove"));

    // A path that is not a file (a directory) and a link to nothing are
    // refused with the reason, and change nothing.
    let out = kr(
        &dir,
        &[
            "hosts",
            "--apply",
            "--hosts-file",
            dir.to_str().expect("path"),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read"), "{err}");
    let dangling = dir.with_extension("dangling-hosts");
    std::os::unix::fs::symlink(dir.join("no-such-file"), &dangling).expect("symlink");
    let before = std::fs::read(&hosts).expect("read");
    let out = kr(
        &dir,
        &[
            "hosts",
            "--apply",
            "--hosts-file",
            dangling.to_str().expect("path"),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("symbolic link") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&dangling)
        .expect("the link is still there")
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&hosts).expect("read"), before);

    // --remove needs no server, not even its data directory.
    server.child.kill().expect("stop the server");
    server.child.wait().expect("stopped");
    std::fs::remove_dir_all(&dir).expect("data directory removed");
    let said = ok(&dir, &["hosts", "--remove", "--hosts-file", file]);
    assert!(said.contains("removed the keyrotor block"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&hosts).expect("read"),
        format!("{original}\n")
    );
    let said = ok(&dir, &["hosts", "--remove", "--hosts-file", file]);
    assert!(said.contains("no keyrotor block"), "{said}");
}

#[test]
fn under_a_dns_suffix_account_hosts_are_named_too() {
    let (_tmp, dir, port) = scratch();
    let _server = Server::start_with(&dir, port, &["--dns-suffix", "kr.test"]);
    ok(
        &dir,
        &["group", "create", "-n", "rg1", "-l", "westus", "-o", "none"],
    );
    ok(
        &dir,
        &["vault", "create", "-n", "kv1", "-g", "rg1", "-o", "none"],
    );
    for (kind, name) in [("cosmos", "cos1"), ("batch", "bat1"), ("ai", "ai1")] {
        ok(
            &dir,
            &[
                "account", "create", "--kind", kind, "-n", name, "-g", "rg1", "-o", "none",
            ],
        );
    }
    assert_eq!(
        ok(&dir, &["hosts"]),
        "127.0.0.1 ai1.cognitiveservices.kr.test\n127.0.0.1 bat1.batch.kr.test\n\
         127.0.0.1 cos1.documents.kr.test\n127.0.0.1 kv1.vault.kr.test\n"
    );
}
