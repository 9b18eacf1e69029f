-- microbot schema 0008 (PostgreSQL). Keep in step with ../sqlite/.
-- Telegram sessions sealed at rest (microbotd/src/seal): the id of the key
-- accounts.session is sealed under (16 hex digits, also inside the blob),
-- NULL for a session stored in clear. SQL reads it to tell which accounts
-- a node can open (account state "sealed", lease taking) and which rows
-- `microbotd rekey` has still to re-seal.
ALTER TABLE accounts ADD COLUMN session_key_id TEXT;
