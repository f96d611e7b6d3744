CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE resource_groups(
  subscription TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL,
  location TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY(subscription, name_key));
CREATE TABLE accounts(
  id INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  name_key TEXT NOT NULL, name TEXT NOT NULL, subscription TEXT NOT NULL, group_key TEXT NOT NULL,
  location TEXT NOT NULL, tags TEXT NOT NULL, document TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  UNIQUE(kind, name_key),
  FOREIGN KEY(subscription, group_key) REFERENCES resource_groups(subscription, name_key) ON DELETE CASCADE);
CREATE INDEX accounts_by_group ON accounts(subscription, group_key, kind);
CREATE TABLE account_keys(
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  slot TEXT NOT NULL, generation INTEGER NOT NULL, sealed BLOB NOT NULL, generated_at INTEGER NOT NULL,
  PRIMARY KEY(account_id, slot));
CREATE TABLE audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE principals(client_id TEXT PRIMARY KEY, display_name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE principal_secrets(
  client_id TEXT NOT NULL REFERENCES principals(client_id) ON DELETE CASCADE,
  secret_id TEXT NOT NULL, verifier TEXT NOT NULL, expires_at INTEGER,
  PRIMARY KEY(client_id, secret_id));
CREATE TABLE signing_keys(kid TEXT PRIMARY KEY, sealed BLOB NOT NULL, created_at INTEGER NOT NULL);
