-- Version 10: clients identified by a metadata document (draft-ietf-oauth-client-id-metadata-
-- document): when their document must be fetched again, per its HTTP caching.
ALTER TABLE clients ADD COLUMN document_expires_at BIGINT;
