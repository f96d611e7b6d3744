//! `keyrotor hosts`: the hosts-file lines that make the service's host
//! names resolve on machines whose only name resolution is /etc/hosts
//! (plain glibc does not map `*.localhost` to loopback): every vault's
//! host, and under `serve --dns-suffix` every account's data-plane host.
//!
//! `--apply` keeps them in a block of the hosts file marked with the data
//! directory (or endpoint) of the server it is for, so the blocks of two
//! servers never touch each other; `--remove` takes the block out again
//! without asking the server. Every other line of the file stays byte for
//! byte. The file is replaced atomically (a temporary file beside it, then
//! a rename) or, where that is impossible (a bind-mounted /etc/hosts in a
//! container), rewritten in place.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use keyrotor_arm::wire::account::{self as wa, AccountEndpoint};
use keyrotor_arm::wire::api_versions::{self, KEY_VAULT};
use keyrotor_arm::wire::metadata::CloudMetadata;
use keyrotor_arm::wire::vault::Vault;
use keyrotor_arm::wire::{ids, List};
use reqwest::Method;

use super::args::KINDS;
use super::{connect, Conn, Session};

/// `keyrotor hosts`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Prints the /etc/hosts lines (ADDRESS HOSTNAME) that make every vault's host name \
(and, when the server runs with --dns-suffix, every account's data-plane host name) resolve to \
the service, for machines without a *.localhost resolver. The output is in hosts-file format \
whatever -o says.\n\n\
--apply writes them into this server's marked block of the hosts file (root is needed for \
/etc/hosts), removing names that no longer exist; run it again after creating or deleting \
vaults. --remove takes the block out again and needs no running server."
)]
pub struct HostsArgs {
    /// Write the lines into this server's block of the hosts file (stale names are removed).
    #[arg(long)]
    apply: bool,
    /// Remove this server's block from the hosts file (the server need not run).
    #[arg(long, conflicts_with_all = ["apply", "address"])]
    remove: bool,
    /// The hosts file --apply and --remove change [default: /etc/hosts].
    #[arg(long, value_name = "PATH")]
    hosts_file: Option<PathBuf>,
    /// The address the names map to (default: the service's, from its URL).
    #[arg(long, value_name = "IP")]
    address: Option<IpAddr>,
}

pub(super) async fn run(conn: &Conn, args: HostsArgs) -> Result<()> {
    if args.hosts_file.is_some() && !args.apply && !args.remove {
        bail!("--hosts-file goes with --apply or --remove (without them the lines are printed)");
    }
    let hosts_file = args
        .hosts_file
        .unwrap_or_else(|| PathBuf::from("/etc/hosts"));
    let file = &hosts_file;
    if args.remove {
        let key = block_key(conn)?;
        let change = update_hosts_file(file, &key, None)?;
        if change.removed.is_empty() && !change.written {
            println!("{}: no keyrotor block for {key}", file.display());
        } else {
            println!(
                "{}: removed the keyrotor block for {key} ({})",
                file.display(),
                names(change.removed.len())
            );
        }
        return Ok(());
    }
    let c = connect(conn).await?;
    let address = match args.address {
        Some(a) => a,
        None => server_address(c.arm.base()).await?,
    };
    let lines: Vec<String> = host_names(&c)
        .await?
        .into_iter()
        .map(|name| format!("{address} {name}"))
        .collect();
    if !args.apply {
        if lines.is_empty() {
            eprintln!("keyrotor: no host names to map: the subscription has no vaults (and the server no host-routed accounts)");
        }
        for l in &lines {
            println!("{l}");
        }
        return Ok(());
    }
    let key = block_key(conn)?;
    let block = Block {
        header: format!(
            "# written by `keyrotor hosts --apply` for {}; changes here are overwritten",
            c.arm.base()
        ),
        lines,
    };
    let change = update_hosts_file(file, &key, Some(&block))?;
    for l in &change.added {
        println!("{}: added {l}", file.display());
    }
    for l in &change.removed {
        println!("{}: removed {l}", file.display());
    }
    if change.written {
        println!(
            "{}: keyrotor block for {key} written ({})",
            file.display(),
            names(block.lines.len())
        );
    } else {
        println!(
            "{}: keyrotor block for {key} is up to date ({})",
            file.display(),
            names(block.lines.len())
        );
    }
    Ok(())
}

fn names(n: usize) -> String {
    match n {
        1 => "1 name".into(),
        n => format!("{n} names"),
    }
}

/// What names a block: the server's data directory (the directory of its
/// bootstrap file, absolute), or the endpoint when one is given instead.
/// Stable across restarts and port changes; two servers never share it.
fn block_key(conn: &Conn) -> Result<String> {
    let key = match &conn.endpoint {
        Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
        None => {
            // Symbolic links resolved while the file exists; a data directory
            // already deleted still names its block (for --remove).
            let file = std::fs::canonicalize(&conn.bootstrap)
                .or_else(|_| std::path::absolute(&conn.bootstrap))
                .with_context(|| format!("cannot name {}", conn.bootstrap.display()))?;
            file.parent()
                .unwrap_or(Path::new("/"))
                .to_string_lossy()
                .into_owned()
        }
    };
    if key.is_empty() || key.contains(['\n', '\r']) {
        bail!("cannot name a hosts-file block after {key:?}");
    }
    Ok(key)
}

/// The address of the service: its URL's IP address, or what its host
/// name resolves to (IPv4 first: `localhost` is 127.0.0.1).
async fn server_address(base: &str) -> Result<IpAddr> {
    let url = reqwest::Url::parse(base).context("the endpoint is not a URL")?;
    let Some(host) = url.host_str() else {
        bail!("the endpoint {base} has no host; pass --address");
    };
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(ip);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let found: Vec<IpAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}; pass --address"))?
        .map(|a| a.ip())
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| anyhow!("{host} resolves to no address; pass --address"))
}

/// The host names clients are given that need an entry: every vault's
/// (`vaultUri`) and every account endpoint's that is a name other than the
/// service's own host (only under `--dns-suffix`: the path scheme uses the
/// service's URL). Sorted, each once.
async fn host_names(c: &Session) -> Result<BTreeSet<String>> {
    let own = name_of(c.arm.base());
    let mut names = BTreeSet::new();
    let vaults: List<Vault> = c
        .arm
        .ok_as(
            Method::GET,
            &ids::vaults(&c.subscription, None),
            KEY_VAULT,
            None,
        )
        .await?;
    let endpoints = vaults.value.into_iter().map(|v| v.properties.vault_uri);
    names.extend(endpoints.filter_map(|u| name_of(&u)));
    for kind in KINDS {
        let accounts: List<wa::Account<AccountEndpoint>> = c
            .arm
            .ok_as(
                Method::GET,
                &ids::accounts(&c.subscription, None, kind),
                api_versions::account(kind),
                None,
            )
            .await?;
        let endpoints = accounts.value.iter().filter_map(|a| a.properties.url());
        names.extend(
            endpoints
                .filter_map(name_of)
                .filter(|n| Some(n) != own.as_ref()),
        );
    }
    if let Some(bad) = names.iter().find(|n| !is_host_name(n)) {
        bail!("the service named a host {bad:?} that cannot go into a hosts file");
    }
    let suffix = service_suffix(c).await?;
    if let Some(bad) = names.iter().find(|n| !is_service_host(n, &suffix)) {
        bail!(
            "the service named a host {bad:?} outside its own names (NAME.vault|documents|batch|cognitiveservices.{suffix}); nothing was written"
        );
    }
    Ok(names)
}

/// The DNS suffix the service names its hosts under: its `keyVaultDns`
/// (`vault.SUFFIX[:PORT]`, from `/metadata/endpoints`) without `vault.` and
/// the port.
async fn service_suffix(c: &Session) -> Result<String> {
    let (status, doc) = c
        .arm
        .call(
            Method::GET,
            "/metadata/endpoints",
            api_versions::RESOURCES,
            None,
        )
        .await?;
    let metadata: CloudMetadata = match status {
        200 => serde_json::from_value(doc).context("unexpected /metadata/endpoints document")?,
        other => bail!("/metadata/endpoints answered {other}"),
    };
    let dns = metadata.suffixes.key_vault_dns;
    let host = dns.rsplit_once(':').map_or(dns.as_str(), |(h, _)| h);
    host.strip_prefix("vault.")
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| anyhow!("the service's keyVaultDns {dns:?} is not vault.SUFFIX"))
}

/// Whether `name` is one of the service's own host names: one label, then
/// a data-plane service label, then the service's suffix. Nothing else
/// (another site's name, the suffix itself) ever goes into a hosts file.
fn is_service_host(name: &str, suffix: &str) -> bool {
    let Some(rest) = name.strip_suffix(suffix).and_then(|r| r.strip_suffix('.')) else {
        return false;
    };
    match rest.split_once('.') {
        Some((label, service)) => {
            !label.is_empty()
                && ["vault", "documents", "batch", "cognitiveservices"].contains(&service)
        }
        None => false,
    }
}

/// The host name of a URL (Batch endpoints come without a scheme),
/// lower-cased; `None` for an IP address.
fn name_of(url: &str) -> Option<String> {
    let url = if url.contains("://") {
        reqwest::Url::parse(url)
    } else {
        reqwest::Url::parse(&format!("https://{url}"))
    };
    let url = url.ok()?;
    let host = url.host_str()?;
    match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(_) => None,
        Err(_) => Some(host.to_ascii_lowercase()),
    }
}

/// Letters, digits, `-` and `.` only: nothing a server says can add a
/// line or a field to the hosts file.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The lines of one server's block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    /// A comment saying who wrote it.
    header: String,
    /// `ADDRESS HOSTNAME`, sorted.
    lines: Vec<String>,
}

/// A rewritten hosts file and what changed in the block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rewritten {
    text: String,
    added: Vec<String>,
    removed: Vec<String>,
}

fn begin_marker(key: &str) -> String {
    format!("# BEGIN keyrotor {key}")
}

fn end_marker(key: &str) -> String {
    format!("# END keyrotor {key}")
}

/// `original` with the block of `key` replaced by `block` (or removed when
/// `block` is `None` or has no lines; appended when there was none). Every
/// line outside the block is kept byte for byte; a last line without a
/// newline gets one when a block follows it.
fn rewrite(original: &str, key: &str, block: Option<&Block>) -> Result<Rewritten> {
    let (begin, end) = (begin_marker(key), end_marker(key));
    let is = |line: &str, marker: &str| line.trim_end_matches(['\n', '\r']) == marker;
    let lines: Vec<&str> = original.split_inclusive('\n').collect();
    let starts: Vec<usize> = (0..lines.len()).filter(|&i| is(lines[i], &begin)).collect();
    let found = match starts.as_slice() {
        [] => {
            if lines.iter().any(|l| is(l, &end)) {
                bail!("the hosts file has '{end}' without '{begin}'; fix the file by hand");
            }
            None
        }
        [start] => {
            let Some(len) = lines[*start..].iter().position(|l| is(l, &end)) else {
                bail!("the hosts file has '{begin}' without '{end}'; fix the file by hand");
            };
            Some((*start, start + len))
        }
        _ => bail!("the hosts file has more than one '{begin}'; fix the file by hand"),
    };
    let old: Vec<String> = found
        .map(|(s, e)| {
            lines[s + 1..e]
                .iter()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect()
        })
        .unwrap_or_default();
    let new: Vec<String> = block.map(|b| b.lines.clone()).unwrap_or_default();
    let rendered = block.filter(|b| !b.lines.is_empty()).map(|b| {
        let mut s = format!("{begin}\n{}\n", b.header);
        for l in &b.lines {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str(&end);
        s.push('\n');
        s
    });
    let mut text = String::with_capacity(original.len() + 256);
    match found {
        Some((s, e)) => {
            text.extend(lines[..s].iter().copied());
            if let Some(r) = &rendered {
                text.push_str(r);
            }
            text.extend(lines[e + 1..].iter().copied());
        }
        None => {
            text.push_str(original);
            if let Some(r) = &rendered {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(r);
            }
        }
    }
    Ok(Rewritten {
        text,
        added: new.iter().filter(|l| !old.contains(l)).cloned().collect(),
        removed: old.iter().filter(|l| !new.contains(l)).cloned().collect(),
    })
}

/// What [`update_hosts_file`] did.
#[derive(Debug)]
struct Change {
    added: Vec<String>,
    removed: Vec<String>,
    /// Whether the file was written (it is not when nothing changed).
    written: bool,
}

/// Sets the block of `key` in the hosts file at `path` to `block` (removes
/// it with `None`), holding a lock on the file's directory from the read
/// to the write so two keyrotor commands cannot lose each other's change.
fn update_hosts_file(path: &Path, key: &str, block: Option<&Block>) -> Result<Change> {
    // The file itself when it is a symbolic link's target: the link stays.
    let target = match std::fs::canonicalize(path) {
        Ok(t) => t,
        // A link to nothing is refused: replacing the link with a file
        // would break whatever manages it.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
        {
            bail!(
                "{} is a symbolic link to a file that does not exist; nothing was changed",
                path.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let lock = std::fs::File::open(&dir)
        .with_context(|| format!("cannot open the directory {}", dir.display()))?;
    lock.lock()
        .with_context(|| format!("cannot lock the directory {}", dir.display()))?;
    let (original, meta) = match std::fs::read(&target) {
        Ok(bytes) => (
            String::from_utf8(bytes)
                .map_err(|_| anyhow!("{} is not UTF-8 text", target.display()))?,
            Some(std::fs::metadata(&target)?),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && block.is_some() => {
            (String::new(), None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Change {
                added: vec![],
                removed: vec![],
                written: false,
            })
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", target.display())),
    };
    let r = rewrite(&original, key, block)?;
    let written = r.text != original;
    if written {
        write_hosts_file(
            &target,
            &dir,
            meta.as_ref(),
            r.text.as_bytes(),
            original.as_bytes(),
        )?;
    }
    Ok(Change {
        added: r.added,
        removed: r.removed,
        written,
    })
}

/// Replaces the file: a temporary file beside it with the same mode and
/// owner, then a rename. Only where a rename cannot work (a bind-mounted
/// /etc/hosts: busy or another device; a directory only root may write
/// while the file is writable) is the file rewritten in place instead;
/// any other failure (a full disk, a size limit) changes nothing.
fn write_hosts_file(
    target: &Path,
    dir: &Path,
    meta: Option<&std::fs::Metadata>,
    text: &[u8],
    original: &[u8],
) -> Result<()> {
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hosts".into());
    let tmp = dir.join(format!(".{file_name}.keyrotor-{}", std::process::id()));
    let replaced = replace(target, &tmp, meta, text);
    let Err(rename_error) = replaced else {
        return Ok(());
    };
    let _ = std::fs::remove_file(&tmp);
    if meta.is_none() || !rename_cannot_work(&rename_error) {
        return Err(refusal(target, &rename_error));
    }
    in_place_or_restore(target, text, original, in_place)
}

/// The failures of replacing by rename that writing in place avoids.
fn rename_cannot_work(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ResourceBusy | ErrorKind::CrossesDevices | ErrorKind::PermissionDenied
    )
}

/// Writes `text` in place with `write`; when that fails part-way, writes
/// the `original` back, and says whether that worked. Only when even that
/// fails is the file left changed: the error says where its previous
/// contents were saved.
fn in_place_or_restore(
    target: &Path,
    text: &[u8],
    original: &[u8],
    write: impl Fn(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let Err(e) = write(target, text) else {
        return Ok(());
    };
    if write(target, original).is_ok() {
        return Err(refusal(target, &e));
    }
    let saved = std::env::temp_dir().join(format!("hosts.keyrotor-saved-{}", std::process::id()));
    let kept = match std::fs::write(&saved, original) {
        Ok(()) => format!("its previous contents are in {}", saved.display()),
        Err(_) => "its previous contents could not be saved either".to_string(),
    };
    Err(anyhow!(
        "cannot write {}: {e}; writing its previous contents back failed too, so it may be incomplete: {kept}",
        target.display()
    ))
}

fn replace(
    target: &Path,
    tmp: &Path,
    meta: Option<&std::fs::Metadata>,
    text: &[u8],
) -> std::io::Result<()> {
    let mode = meta.map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    if let Some(m) = meta {
        let mine = f.metadata()?;
        if (mine.uid(), mine.gid()) != (m.uid(), m.gid()) {
            std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()))?;
        }
    }
    f.write_all(text)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, target)?;
    if let Some(parent) = target.parent() {
        // The rename is durable once the directory is.
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Writes `text` over the file's contents, then cuts it to that length
/// and syncs: the file keeps its inode (the bind mount stays valid).
fn in_place(target: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(target)?;
    f.write_all(text)?;
    f.set_len(text.len() as u64)?;
    f.sync_all()
}

/// A write that failed, as the user reads it: what to do about it.
fn refusal(target: &Path, e: &std::io::Error) -> anyhow::Error {
    use std::io::ErrorKind;
    let hint = match e.kind() {
        ErrorKind::PermissionDenied => {
            "; changing it needs root (run the command with sudo), or print the lines with 'keyrotor hosts' and add them yourself"
        }
        ErrorKind::ReadOnlyFilesystem => {
            "; the file system is read-only: print the lines with 'keyrotor hosts' and add them where the hosts file is made"
        }
        _ => "",
    };
    anyhow!(
        "cannot write {}: {e}{hint}; nothing was changed",
        target.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "/srv/keyrotor data";

    fn block(lines: &[&str]) -> Block {
        Block {
            header: "# written by test".into(),
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn a_new_block_is_appended_and_other_lines_stay() {
        let original = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n\n# mine\n10.0.0.5 db\n";
        let r = rewrite(
            original,
            KEY,
            Some(&block(&[
                "127.0.0.1 a.vault.localhost",
                "127.0.0.1 b.vault.localhost",
            ])),
        )
        .expect("rewritten");
        assert_eq!(
            r.text,
            format!(
                "{original}# BEGIN keyrotor {KEY}\n# written by test\n127.0.0.1 a.vault.localhost\n127.0.0.1 b.vault.localhost\n# END keyrotor {KEY}\n"
            )
        );
        assert_eq!(
            r.added,
            ["127.0.0.1 a.vault.localhost", "127.0.0.1 b.vault.localhost"]
        );
        assert!(r.removed.is_empty());
    }

    #[test]
    fn rewriting_is_idempotent() {
        let b = block(&["127.0.0.1 a.vault.localhost"]);
        let once = rewrite("127.0.0.1 localhost\n", KEY, Some(&b)).expect("first");
        let twice = rewrite(&once.text, KEY, Some(&b)).expect("second");
        assert_eq!(twice.text, once.text);
        assert!(twice.added.is_empty() && twice.removed.is_empty());
    }

    #[test]
    fn stale_names_are_removed_in_place_and_neighbours_kept() {
        let before = format!(
            "127.0.0.1 localhost\n# BEGIN keyrotor {KEY}\n# old header\n127.0.0.1 gone.vault.localhost\n127.0.0.1 kept.vault.localhost\n# END keyrotor {KEY}\n10.1.1.1 after  # a comment\n"
        );
        let r = rewrite(
            &before,
            KEY,
            Some(&block(&[
                "127.0.0.1 kept.vault.localhost",
                "127.0.0.1 new.vault.localhost",
            ])),
        )
        .expect("rewritten");
        assert_eq!(
            r.text,
            format!("127.0.0.1 localhost\n# BEGIN keyrotor {KEY}\n# written by test\n127.0.0.1 kept.vault.localhost\n127.0.0.1 new.vault.localhost\n# END keyrotor {KEY}\n10.1.1.1 after  # a comment\n")
        );
        assert_eq!(r.added, ["127.0.0.1 new.vault.localhost"]);
        assert_eq!(r.removed, ["127.0.0.1 gone.vault.localhost"]);
    }

    #[test]
    fn no_names_or_remove_takes_the_block_out_and_restores_the_file() {
        let original = "127.0.0.1 localhost\n10.0.0.1 other";
        let added = rewrite(
            original,
            KEY,
            Some(&block(&["127.0.0.1 a.vault.localhost"])),
        )
        .expect("added");
        // A last line without a newline gets one before the block.
        assert!(added
            .text
            .starts_with("127.0.0.1 localhost\n10.0.0.1 other\n# BEGIN"));
        for gone in [None, Some(&block(&[]))] {
            let r = rewrite(&added.text, KEY, gone).expect("removed");
            assert_eq!(r.text, "127.0.0.1 localhost\n10.0.0.1 other\n");
            assert_eq!(r.removed, ["127.0.0.1 a.vault.localhost"]);
        }
        // Nothing to remove: the file is unchanged, byte for byte.
        let r = rewrite(original, KEY, None).expect("nothing");
        assert_eq!(r.text, original);
        assert!(r.removed.is_empty());
    }

    #[test]
    fn another_servers_block_is_not_touched() {
        let other =
            "# BEGIN keyrotor /other\n# h\n127.0.0.1 x.vault.localhost\n# END keyrotor /other\n";
        let r =
            rewrite(other, KEY, Some(&block(&["127.0.0.1 y.vault.localhost"]))).expect("rewritten");
        assert!(r.text.starts_with(other));
        let r = rewrite(&r.text, KEY, None).expect("removed");
        assert_eq!(r.text, other);
        // A key that is a prefix of another key is another block.
        let r = rewrite(other, "/oth", None).expect("untouched");
        assert_eq!(r.text, other);
    }

    #[test]
    fn an_empty_file_gets_just_the_block() {
        let r = rewrite("", KEY, Some(&block(&["::1 a.vault.localhost"]))).expect("rewritten");
        assert_eq!(
            r.text,
            format!("# BEGIN keyrotor {KEY}\n# written by test\n::1 a.vault.localhost\n# END keyrotor {KEY}\n")
        );
    }

    #[test]
    fn a_damaged_block_is_refused_not_guessed() {
        let open = format!("# BEGIN keyrotor {KEY}\n127.0.0.1 a.vault.localhost\n");
        assert!(rewrite(&open, KEY, None).is_err());
        let stray = format!("127.0.0.1 a\n# END keyrotor {KEY}\n");
        assert!(rewrite(&stray, KEY, None).is_err());
        let twice = format!("# BEGIN keyrotor {KEY}\n# END keyrotor {KEY}\n").repeat(2);
        assert!(rewrite(&twice, KEY, None).is_err());
    }

    #[test]
    fn host_names_from_endpoints() {
        assert_eq!(
            name_of("https://KV1.vault.localhost:8443/").as_deref(),
            Some("kv1.vault.localhost")
        );
        assert_eq!(
            name_of("b1.batch.kr.test:8443").as_deref(),
            Some("b1.batch.kr.test")
        );
        assert_eq!(name_of("https://127.0.0.1:8443/cosmos/c1/"), None);
        assert_eq!(name_of("127.0.0.1:8443/batch/b1"), None);
        assert_eq!(name_of("https://[::1]:8443/ai/a/"), None);
        assert!(is_host_name("a-1.vault.localhost"));
        assert!(!is_host_name("a b"));
        assert!(!is_host_name("a\nb"));
        assert!(!is_host_name(""));
    }

    #[test]
    fn files_are_replaced_keeping_their_mode_and_removed_blocks_leave_no_trace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hosts");
        let original = "127.0.0.1 localhost\n";
        std::fs::write(&path, original).expect("hosts file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("mode");
        let b = block(&["127.0.0.1 a.vault.localhost"]);
        let c = update_hosts_file(&path, KEY, Some(&b)).expect("applied");
        assert!(c.written && c.added.len() == 1);
        let meta = std::fs::metadata(&path).expect("metadata");
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        let c = update_hosts_file(&path, KEY, Some(&b)).expect("again");
        assert!(!c.written && c.added.is_empty() && c.removed.is_empty());
        update_hosts_file(&path, KEY, None).expect("removed");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), original);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            left,
            [std::ffi::OsString::from("hosts")],
            "a temporary file was left"
        );
    }

    #[test]
    fn in_place_writes_keep_the_inode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hosts");
        std::fs::write(&path, "a much longer first version of the file\n").expect("write");
        let inode = std::fs::metadata(&path).expect("meta").ino();
        in_place(&path, b"short\n").expect("in place");
        assert_eq!(std::fs::read(&path).expect("read"), b"short\n");
        assert_eq!(std::fs::metadata(&path).expect("meta").ino(), inode);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let e = refusal(
            Path::new("/etc/hosts"),
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        )
        .to_string();
        assert!(
            e.contains("cannot write /etc/hosts") && e.contains("root"),
            "{e}"
        );
        assert!(e.contains("nothing was changed"), "{e}");
    }

    #[test]
    fn only_the_services_own_names_go_into_the_file() {
        for ok in [
            "kv1.vault.localhost",
            "acct.documents.example.com",
            "b1.batch.example.com",
            "ai.cognitiveservices.example.com",
        ] {
            let suffix = if ok.ends_with("localhost") {
                "localhost"
            } else {
                "example.com"
            };
            assert!(is_service_host(ok, suffix), "{ok}");
        }
        for bad in [
            "deb.debian.org",
            "example.com",
            "vault.example.com",
            ".vault.example.com",
            "x.y.vault.example.com",
            "kv1.vault.example.com.evil.org",
            "kv1.storage.example.com",
            "kv1.vaultexample.com",
        ] {
            assert!(!is_service_host(bad, "example.com"), "{bad}");
        }
    }

    #[test]
    fn only_failures_a_rename_cannot_get_past_fall_back_to_writing_in_place() {
        use std::io::{Error, ErrorKind};
        for kind in [
            ErrorKind::ResourceBusy,
            ErrorKind::CrossesDevices,
            ErrorKind::PermissionDenied,
        ] {
            assert!(rename_cannot_work(&Error::from(kind)), "{kind:?}");
        }
        for kind in [
            ErrorKind::StorageFull,
            ErrorKind::FileTooLarge,
            ErrorKind::QuotaExceeded,
            ErrorKind::Other,
        ] {
            assert!(!rename_cannot_work(&Error::from(kind)), "{kind:?}");
        }
    }

    #[test]
    fn a_failed_in_place_write_puts_the_previous_contents_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hosts");
        let original = b"127.0.0.1 localhost\n10.0.0.5 db\n";
        std::fs::write(&path, original).expect("write");
        // A writer that damages the file and fails once, then works.
        let calls = std::cell::Cell::new(0);
        let flaky = |p: &Path, text: &[u8]| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                std::fs::write(p, &text[..text.len() / 2])?;
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            std::fs::write(p, text)
        };
        let e = in_place_or_restore(&path, b"a much longer new text\n", original, flaky)
            .expect_err("the write failed")
            .to_string();
        assert!(e.contains("nothing was changed"), "{e}");
        assert_eq!(std::fs::read(&path).expect("read"), original);
        // When even the restore fails, the error says so and where the old
        // contents went.
        let broken = |p: &Path, _: &[u8]| {
            std::fs::write(p, b"12")?;
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        };
        let e = in_place_or_restore(&path, b"new\n", original, broken)
            .expect_err("both writes failed")
            .to_string();
        assert!(
            !e.contains("nothing was changed") && e.contains("previous contents are in"),
            "{e}"
        );
        let saved = e
            .rsplit("previous contents are in ")
            .next()
            .expect("a path");
        assert_eq!(std::fs::read(saved.trim()).expect("saved copy"), original);
        let _ = std::fs::remove_file(saved.trim());
    }

    #[test]
    fn a_link_to_nothing_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let link = dir.path().join("hosts");
        std::os::unix::fs::symlink(dir.path().join("missing"), &link).expect("symlink");
        let e = update_hosts_file(&link, KEY, Some(&block(&["127.0.0.1 kv.vault.localhost"])))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert!(std::fs::symlink_metadata(&link)
            .expect("still there")
            .file_type()
            .is_symlink());
    }
}
