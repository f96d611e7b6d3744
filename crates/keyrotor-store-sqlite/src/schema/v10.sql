-- Envelope encryption: each account's data keys (DEKs), stored only
-- wrapped (`wrap_source` 'service': by the root key `wrap_key`), the one
-- that seals new writes (`accounts.current_dek`), and for every sealed
-- record the DEK that sealed it. Existing records are sealed by the Rust
-- part of this step (conn.rs, `envelope_upgrade`), in this transaction,
-- which then drops the plain `data_items.body`.
CREATE TABLE account_deks(
  id TEXT PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  wrapped BLOB NOT NULL, wrap_source TEXT NOT NULL, wrap_key TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE INDEX account_deks_by_account ON account_deks(account_id);
ALTER TABLE accounts ADD COLUMN current_dek TEXT REFERENCES account_deks(id);
ALTER TABLE account_keys ADD COLUMN dek_id TEXT REFERENCES account_deks(id);
ALTER TABLE data_items ADD COLUMN dek_id TEXT REFERENCES account_deks(id);
ALTER TABLE data_items ADD COLUMN sealed BLOB;
INSERT INTO changes(domain, seq) VALUES ('deks', 0);
