-- Version 12: upstream OpenID Connect providers people may sign in with (identity
-- brokering), from the configuration file or `tessera upstream add`, in one table so every
-- node sees the same ones.
CREATE TABLE upstreams (
    -- Appears in URLs: /upstream/{id}/...
    id TEXT PRIMARY KEY,
    -- The button text on the login page.
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- The client secret sealed under the master key (JWE dir/A256GCM); never stored plain.
    client_secret TEXT,
    -- Space-separated.
    scopes TEXT NOT NULL,
    link_by_verified_email BIGINT NOT NULL DEFAULT 0,
    create_users BIGINT NOT NULL DEFAULT 1,
    trust_upstream_mfa BIGINT NOT NULL DEFAULT 0,
    -- The upstream claim whose values map to local roles, and the map as a JSON object.
    roles_claim TEXT,
    role_map TEXT NOT NULL DEFAULT '{}',
    -- Space-separated roles every account created through this upstream gets.
    default_roles TEXT NOT NULL DEFAULT '',
    -- `file` (kept in step with the configuration at every start) or `cli`.
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An upstream identity (issuer + sub) linked to a local account.
CREATE TABLE linked_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    upstream_id TEXT NOT NULL,
    -- The upstream's address for the user when it was last seen, for the account page.
    email TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX linked_identities_user ON linked_identities (user_id);

-- Roles an upstream's role mapping granted (and may take back); roles assigned locally are
-- never listed here, so a mapping never removes them.
CREATE TABLE mapped_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_name TEXT NOT NULL,
    upstream_id TEXT NOT NULL,
    PRIMARY KEY (user_id, role_name, upstream_id)
);
