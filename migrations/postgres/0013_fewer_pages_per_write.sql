-- Version 13: fewer index pages written per audited event and per authorization code, and no
-- scan of the codes for each grant cleanup deletes.

-- The dedupe key indexed only where it is set (successes carry none).
ALTER TABLE audit_events DROP CONSTRAINT audit_events_dedupe_key_key;
CREATE UNIQUE INDEX audit_events_dedupe ON audit_events (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Codes indexed by grant, which deleting a grant looks them up by; expired ones are found by
-- a scan of this small table.
DROP INDEX codes_expiry;
CREATE INDEX codes_grant ON codes (grant_id);
