-- Version 3: self-service accounts. Mail goes through a durable outbox; links sent by mail
-- are single-use action tokens stored as SHA-256; profiles gain a language and time zone.

ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN time_zone TEXT;
-- Accounts that exist before self-service sign-up were made by an admin: they count as
-- verified.
UPDATE users SET email_verified = 1;

CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    recipient       TEXT NOT NULL,
    -- Which template renders it, and the values it is rendered with (JSON).
    template        TEXT NOT NULL,
    context         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A node working on the message holds it until then; others leave it alone.
    locked_until    BIGINT,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);

CREATE TABLE action_tokens (
    token_hash TEXT PRIMARY KEY,
    -- verify_email, reset_password, invitation, change_email
    kind       TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    -- What the link carries besides the account (roles of an invitation, the new address of
    -- a change, the authorization request to resume), as JSON.
    data       TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX action_tokens_user ON action_tokens (user_id, kind);
CREATE INDEX action_tokens_email ON action_tokens (email, kind, created_at);
