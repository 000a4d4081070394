-- Version 8: the Device Authorization Grant (RFC 8628).
CREATE TABLE device_codes (
    -- SHA-256 of the device_code the device polls with.
    device_code_hash TEXT PRIMARY KEY,
    -- The code a person types, without its dash.
    user_code        TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- Seconds the device must wait between polls; grows by 5 on each slow_down.
    interval_secs    BIGINT NOT NULL,
    last_poll_at     BIGINT,
    -- pending, approved, denied or used.
    state            TEXT NOT NULL DEFAULT 'pending',
    -- Who approved, in which session, and how they had signed in.
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id       TEXT,
    auth_time        BIGINT,
    amr              TEXT,
    acr              TEXT
);
CREATE INDEX device_codes_expiry ON device_codes (expires_at);
