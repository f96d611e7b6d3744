-- The activity log (issue 16, item 2): the audit table gains what Azure
-- Monitor's activity log shows, and a hash chain. Entries written before
-- this step are not chained: the anchor starts the chain after them.
ALTER TABLE audit ADD COLUMN operation TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN resource_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN status TEXT NOT NULL DEFAULT 'Succeeded';
ALTER TABLE audit ADD COLUMN http_status INTEGER;
ALTER TABLE audit ADD COLUMN correlation_id TEXT NOT NULL DEFAULT '';
-- hex SHA-256 of (previous hash, this entry); NULL before the chain.
ALTER TABLE audit ADD COLUMN hash TEXT;
UPDATE audit SET operation = 'Keyrotor/' || action, resource_id = target;
CREATE INDEX audit_by_time ON audit(at);
-- Automatic actions are recorded once (a break-glass window's end).
CREATE INDEX audit_by_target ON audit(target, action);
-- The entry the chain follows: the newest unchained entry, later the
-- newest entry a retention purge removed.
CREATE TABLE activity_anchor(
  id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
INSERT INTO activity_anchor(id, seq, hash) SELECT 1, COALESCE(MAX(seq), 0), '' FROM audit;
