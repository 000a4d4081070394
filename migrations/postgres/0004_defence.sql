-- Version 4: sign-in defence and two-factor. Failed sign-ins are counted per account and per
-- address (shared by every node); locks are rows; TOTP secrets are sealed under the master
-- key and recovery codes stored as keyed hashes.

-- Bumped to disown every device cookie of an account ("This wasn't me").
ALTER TABLE users ADD COLUMN device_epoch BIGINT NOT NULL DEFAULT 0;
-- Wrong second-factor codes typed in this session.
ALTER TABLE sessions ADD COLUMN factor_failures BIGINT NOT NULL DEFAULT 0;
-- The client demands sign-ins with two factors.
ALTER TABLE clients ADD COLUMN require_mfa BIGINT NOT NULL DEFAULT 0;

CREATE TABLE sign_in_failures (
    id      BIGSERIAL PRIMARY KEY,
    -- The account (its id, or a hash of the login typed for no account); NULL once the
    -- failure no longer counts against an account (a success, a lock, an unlock, or a
    -- device the account's owner signed in from), while it still counts for its address.
    subject TEXT,
    ip      TEXT,
    at      BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_subject ON sign_in_failures (subject, at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, at);

CREATE TABLE lockouts (
    subject      TEXT PRIMARY KEY,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    locked_at    BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    -- Locks in a row: each one lasts twice the one before, up to a day.
    locks        BIGINT NOT NULL
);

CREATE TABLE totp_credentials (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The shared secret, sealed (compact JWE).
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    -- NULL while the enrolment waits for its first code.
    confirmed_at BIGINT,
    -- The last time step whose code was accepted: no code is accepted twice.
    last_step    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
