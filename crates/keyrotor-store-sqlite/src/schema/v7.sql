-- Change sequences, one per cached domain, moved in the transaction of
-- every change a cache depends on.
CREATE TABLE changes(domain TEXT PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO changes(domain, seq) VALUES
  ('accounts', 0), ('rbac', 0), ('identity', 0), ('signing', 0), ('vaults', 0);
