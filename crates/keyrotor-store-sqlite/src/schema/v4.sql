-- Role assignments. `scope_key` is the normalized (lower-case) scope so
-- that deleting a resource can revoke everything at or below it.
CREATE TABLE role_assignments(
  name TEXT PRIMARY KEY, scope TEXT NOT NULL, scope_key TEXT NOT NULL,
  principal_key TEXT NOT NULL, principal_id TEXT NOT NULL, role_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, created_by TEXT NOT NULL,
  UNIQUE(principal_key, role_id, scope_key));
CREATE INDEX role_assignments_scope ON role_assignments(scope_key);
