-- Version 2: the audit log, scopes as data, and what the sign-in completion step records
-- (acr, the stage of a half-signed-in session, where a session was started from).

ALTER TABLE sessions ADD COLUMN acr TEXT NOT NULL DEFAULT 'urn:tessera:acr:pwd';
-- 'complete', or the step still missing ('second_factor'): such a session serves nothing else.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'complete';
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE grants ADD COLUMN acr TEXT NOT NULL DEFAULT 'urn:tessera:acr:pwd';
CREATE INDEX grants_user ON grants (user_id);

CREATE TABLE scopes (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    builtin     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

INSERT INTO scopes (name, description, builtin, created_at) VALUES
    ('openid', 'Know who you are (a stable identifier for your account)', 1, 0),
    ('profile', 'Your name and username', 1, 0),
    ('email', 'Your email address', 1, 0),
    ('roles', 'Your roles (such as admin or user)', 1, 0),
    ('offline_access', 'Stay connected while you are away (keep access until you sign out)', 1, 0);

CREATE TABLE audit_events (
    id            BIGSERIAL PRIMARY KEY,
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
    dedupe_key    TEXT UNIQUE
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user ON audit_events (user_id, time);
