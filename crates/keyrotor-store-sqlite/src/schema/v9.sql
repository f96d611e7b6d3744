-- When each client secret was created, and when it last signed in (written
-- at most about once a minute per secret, never decreasing). A secret from
-- before takes its creation time from the audit event that added it, else
-- (a principal's first secret) from its principal's.
ALTER TABLE principal_secrets ADD COLUMN created_at INTEGER;
ALTER TABLE principal_secrets ADD COLUMN last_used_at INTEGER;
UPDATE principal_secrets SET created_at = COALESCE(
  (SELECT MAX(a.at) FROM audit a
    WHERE a.target = principal_secrets.client_id
      AND a.detail = principal_secrets.secret_id
      AND a.action IN ('principal.secret.add', 'principal.secret.reset')),
  (SELECT p.created_at FROM principals p WHERE p.client_id = principal_secrets.client_id));
