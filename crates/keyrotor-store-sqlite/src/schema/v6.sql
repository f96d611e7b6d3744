-- Who owns a service principal (may manage its secrets and delete it):
-- the principal that created it. NULL for the bootstrap administrator and
-- for principals created before owners were recorded.
ALTER TABLE principals ADD COLUMN owner TEXT;
