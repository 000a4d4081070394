-- Version 7: clients that authenticate with their own keys (private_key_jwt, RFC 7523).

-- How the client authenticates at the token endpoint: client_secret_basic (also accepting
-- client_secret_post), none, or private_key_jwt.
ALTER TABLE clients ADD COLUMN auth_method TEXT NOT NULL DEFAULT '';
-- Its public keys: a JWKS document inline, or the URL it is published at.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

-- JWT ids seen within their lifetime, by SHA-256 (DPoP proofs and client assertions), so
-- a replay is refused on every node.
ALTER TABLE dpop_proofs RENAME TO seen_jwts;
