-- Key usage metadata and data-plane items.
ALTER TABLE accounts ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
CREATE TABLE key_usage(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, generation INTEGER NOT NULL, last_used INTEGER,
  PRIMARY KEY(account_id, slot));
CREATE TABLE key_usage_hourly(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, hour INTEGER NOT NULL, requests INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot, hour));
CREATE TABLE key_clients(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, user_agent TEXT NOT NULL, address TEXT NOT NULL,
  last_seen INTEGER NOT NULL, requests INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot, user_agent, address));
CREATE TABLE data_items(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, etag TEXT NOT NULL, ts INTEGER NOT NULL,
  UNIQUE(account_id, collection, id));
