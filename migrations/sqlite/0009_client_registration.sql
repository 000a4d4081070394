-- Version 9: clients that register themselves (RFC 7591/7592) or identify by a metadata
-- document, and clients an admin can switch off.

-- 1 for clients that registered themselves or came from a metadata document: consent is
-- always asked and the consent page marks them as not verified.
ALTER TABLE clients ADD COLUMN self_registered BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN enabled BIGINT NOT NULL DEFAULT 1;
-- SHA-256 of the RFC 7592 registration access token.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
-- Further metadata as JSON (client_uri, logo_uri, policy_uri, tos_uri).
ALTER TABLE clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Initial access tokens for dynamic registration, by SHA-256.
CREATE TABLE initial_access_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Registrations left; NULL for as many as wanted until expiry.
    uses_left  BIGINT,
    -- Clients registered with it may use client_credentials.
    allow_client_credentials BIGINT NOT NULL DEFAULT 0
);
