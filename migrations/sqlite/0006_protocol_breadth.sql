-- Version 6: back-channel logout, pushed authorization requests, DPoP, resource indicators
-- and the stricter defaults of RFC 9700.

-- Every client, those registered before included, must use PKCE unless an admin opts it out.
ALTER TABLE clients ADD COLUMN allow_no_pkce BIGINT NOT NULL DEFAULT 0;
-- A resource server may introspect tokens issued to other clients.
ALTER TABLE clients ADD COLUMN introspect_any BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN require_par BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN require_dpop BIGINT NOT NULL DEFAULT 0;
-- Space-separated resource indicators (RFC 8707) the client may ask tokens for.
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BIGINT NOT NULL DEFAULT 0;

-- The resources a grant's tokens may name as their audience, and the DPoP key its refresh
-- tokens are bound to (public clients).
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;
-- RFC 9449 §10: the key the code's token request must prove.
ALTER TABLE codes ADD COLUMN dpop_jkt TEXT;

-- RFC 9126: pushed requests, by the SHA-256 of their request_uri, used once.
CREATE TABLE pushed_requests (
    uri_hash   TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- The request's parameters, as a JSON list of [name, value] pairs.
    params     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expiry ON pushed_requests (expires_at);

-- RFC 9449 §11.1: DPoP proofs seen within their window, by SHA-256 of key thumbprint and
-- jti, so a replay is refused on any node.
CREATE TABLE dpop_proofs (
    proof_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);

-- The outbox carries back-channel logout tokens beside mail: `recipient` is the client's
-- logout URI and `context` the token's facts.
ALTER TABLE mail_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'mail';
CREATE INDEX mail_outbox_channel ON mail_outbox (channel, sent_at, next_attempt_at);
