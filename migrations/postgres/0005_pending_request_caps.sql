-- Version 5: parked authorization requests remember the address that made them and the
-- order they arrived in (a time-ordered UUID), so the requests of one address, and all
-- together, can be capped with the oldest giving way.
ALTER TABLE interactions ADD COLUMN ip TEXT;
ALTER TABLE interactions ADD COLUMN seq TEXT NOT NULL DEFAULT '';
CREATE INDEX interactions_ip ON interactions (ip, seq);
CREATE INDEX interactions_seq ON interactions (seq);
