-- Version 13: fewer pages written per audited event and per authorization code, and no
-- scan of the codes for each grant cleanup deletes.

-- Audit events: ids without AUTOINCREMENT, so an insert no longer updates sqlite_sequence
-- (ids still only grow while any event is kept: paging is by time, then id), and the dedupe
-- key indexed only where it is set (successes carry none).
CREATE TABLE audit_events_v13 (
    id            INTEGER PRIMARY KEY,
    time          BIGINT NOT NULL,
    type          TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    user_id       TEXT,
    user_name     TEXT,
    -- What was typed as the username of a failed sign-in (never in log lines).
    username      TEXT,
    client_id     TEXT,
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT NOT NULL DEFAULT '{}',
    -- Identical failures from one address within a minute share a row and count up.
    count         BIGINT NOT NULL DEFAULT 1,
    dedupe_key    TEXT
);
INSERT INTO audit_events_v13 (id, time, type, outcome, actor_kind, actor_id, user_id, user_name,
    username, client_id, ip, user_agent, details, count, dedupe_key)
SELECT id, time, type, outcome, actor_kind, actor_id, user_id, user_name, username, client_id, ip,
    user_agent, details, count, dedupe_key FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_v13 RENAME TO audit_events;
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user ON audit_events (user_id, time);
CREATE UNIQUE INDEX audit_events_dedupe ON audit_events (dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Codes: one b-tree keyed by the code's hash (WITHOUT ROWID) instead of a table and its key
-- index; indexed by grant, which deleting a grant looks them up by; expired ones are found by
-- a scan of this small table.
CREATE TABLE codes_v13 (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    nonce          TEXT,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT,
    dpop_jkt       TEXT
) WITHOUT ROWID;
INSERT INTO codes_v13 (code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at,
    consumed_at, dpop_jkt)
SELECT code_hash, grant_id, redirect_uri, code_challenge, nonce, expires_at, consumed_at, dpop_jkt
FROM codes;
DROP TABLE codes;
ALTER TABLE codes_v13 RENAME TO codes;
CREATE INDEX codes_grant ON codes (grant_id);
