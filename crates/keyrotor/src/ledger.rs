//! The key ledger's file (`keyrotor_core::ledger`): one line per recorded
//! slot state, `v1 <account uid> <slot> <generation>\n`, appended and
//! fsynced before a regeneration or an account deletion is acknowledged.
//! At start the file is read (a last line without its newline is an append
//! that a crash cut short, before its change was acknowledged: dropped) and
//! rewritten with one line per slot. Holds no key material.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use keyrotor_core::ledger::{KeyLedger, LedgerEntry, LedgerError, LedgerMap};
use keyrotor_types::KeySlot;

pub struct FileLedger {
    path: PathBuf,
    file: Mutex<File>,
    map: Mutex<LedgerMap>,
}

fn line(e: &LedgerEntry) -> String {
    format!(
        "v1 {} {} {}\n",
        e.account_uid,
        e.slot.as_str(),
        e.generation
    )
}

fn parse_line(l: &str) -> Option<LedgerEntry> {
    let mut parts = l.split(' ');
    let (v, uid, slot, generation) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if v != "v1" || parts.next().is_some() || uid.is_empty() {
        return None;
    }
    Some(LedgerEntry {
        account_uid: uid.to_string(),
        slot: KeySlot::parse(slot)?,
        generation: generation.parse().ok()?,
    })
}

impl FileLedger {
    /// Opens (or creates) the ledger at `path`, compacting it. A line that
    /// is complete but unreadable refuses the start: the ledger is what
    /// protects against restored keys, so it is never silently ignored.
    pub fn open(path: &Path) -> Result<Self> {
        let mut map = LedgerMap::default();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let complete = match text.rfind('\n') {
                    Some(i) => &text[..=i],
                    None => "",
                };
                if complete.len() < text.len() {
                    tracing::warn!(path = %path.display(), "key ledger: dropping an append a crash cut short (its change was never acknowledged)");
                }
                for (n, l) in complete.lines().enumerate() {
                    match parse_line(l) {
                        Some(e) => map.apply(&e),
                        None => bail!(
                            "the key ledger {} is damaged at line {}; keyrotor will not start without it (restore it, or move it away to start without restore protection for earlier changes)",
                            path.display(),
                            n + 1
                        ),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        // Compact: one line per slot, written aside and renamed over.
        let tmp = path.with_extension("compact");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            let mut text = String::new();
            let mut entries: Vec<LedgerEntry> = map.entries().collect();
            entries.sort_by(|a, b| (&a.account_uid, a.slot).cmp(&(&b.account_uid, b.slot)));
            for e in &entries {
                text.push_str(&line(e));
            }
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir).and_then(|d| d.sync_all())?;
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            map: Mutex::new(map),
        })
    }
}

impl KeyLedger for FileLedger {
    fn record(&self, entries: &[LedgerEntry]) -> Result<(), LedgerError> {
        let text: String = entries.iter().map(line).collect();
        {
            let mut f = self
                .file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A failed append (a full disk) must not leave half a line that
            // the next append would join: cut the file back to where it was.
            let before = f.metadata().map(|m| m.len());
            if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_data()) {
                if let Ok(len) = before {
                    let _ = f.set_len(len);
                }
                return Err(LedgerError(format!("{}: {e}", self.path.display())));
            }
        }
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply_all(entries);
        Ok(())
    }

    fn latest(&self, account_uid: &str, slot: KeySlot) -> Option<u64> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(account_uid, slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(uid: &str, slot: KeySlot, generation: u64) -> LedgerEntry {
        LedgerEntry {
            account_uid: uid.into(),
            slot,
            generation,
        }
    }

    #[test]
    fn survives_reopening_compacts_and_drops_a_torn_append() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("key-ledger");
        {
            let l = FileLedger::open(&path).expect("open");
            l.record(&[e("a", KeySlot::Primary, 2)]).expect("record");
            l.record(&[e("a", KeySlot::Primary, 3), e("b", KeySlot::Secondary, 7)])
                .expect("record");
        }
        // A crash in the middle of an append.
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"v1 a primary 9").expect("write");
        drop(f);
        let l = FileLedger::open(&path).expect("reopen");
        assert_eq!(l.latest("a", KeySlot::Primary), Some(3));
        assert_eq!(l.latest("b", KeySlot::Secondary), Some(7));
        assert_eq!(l.latest("b", KeySlot::Primary), None);
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "v1 a primary 3\nv1 b secondary 7\n");
    }

    #[test]
    fn a_damaged_line_refuses_the_start() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("key-ledger");
        std::fs::write(&path, "v1 a primary 3\ngarbage\n").expect("write");
        let err = FileLedger::open(&path).err().expect("refused");
        assert!(err.to_string().contains("damaged at line 2"), "{err}");
    }
}
