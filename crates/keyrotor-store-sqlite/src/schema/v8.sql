-- Real sequences instead of MAX(seq) + 1: the counters behind item ETags
-- and the order of vault object versions, each moved in the transaction
-- that takes a number (and an index for the version order).
CREATE TABLE sequences(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO sequences(name, value) SELECT 'item_etags', COALESCE(MAX(seq), 0) FROM data_items;
INSERT INTO sequences(name, value) SELECT 'vault_objects', COALESCE(MAX(seq), 0) FROM vault_objects;
CREATE INDEX vault_objects_order ON vault_objects(vault_id, collection, seq);
