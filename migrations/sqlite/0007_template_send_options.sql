-- microbot schema 0007 (SQLite). Keep in step with ../postgres/.
-- A template's send options, canonical and comma-separated in a fixed
-- order (templates::options): silent, no-preview, pin, pin-notify,
-- replace-previous. Empty: none.
ALTER TABLE templates ADD COLUMN send_options TEXT NOT NULL DEFAULT '';
