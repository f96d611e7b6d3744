-- Report-only counts of requests that disabling key auth would refuse.
ALTER TABLE key_usage ADD COLUMN would_reject INTEGER NOT NULL DEFAULT 0;
