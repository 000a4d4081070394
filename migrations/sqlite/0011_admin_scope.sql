-- Version 11: the built-in scope of the admin API. Clients get it only when an administrator
-- registers them for it; self-registered clients never can.
INSERT INTO scopes (name, description, builtin, created_at)
VALUES ('tessera:admin', 'Administer this Tessera: users, roles, clients, keys and the audit log', 1, 0);
