-- Key vaults and their keys and secrets (every version sealed). Vaults
-- have no foreign key to their group: deleting a group soft-deletes them.
CREATE TABLE vaults(
  id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, name_key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  subscription TEXT NOT NULL, group_key TEXT NOT NULL, group_name TEXT NOT NULL, location TEXT NOT NULL,
  tags TEXT NOT NULL, document TEXT NOT NULL, soft_delete_days INTEGER NOT NULL,
  purge_protection INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE TABLE vault_objects(
  vault_id INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  collection TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
  enabled INTEGER, nbf INTEGER, exp INTEGER, document TEXT NOT NULL, sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER, seq INTEGER NOT NULL,
  PRIMARY KEY(vault_id, collection, name_key, version));
CREATE TABLE vault_rotation_policies(
  vault_id INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE, name_key TEXT NOT NULL,
  policy TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(vault_id, name_key));
