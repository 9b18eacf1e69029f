-- microbot schema 0005 (SQLite). Keep in step with ../postgres/.
-- FLOOD_WAIT answers Telegram gave to a delivery's send calls, and the
-- seconds they imposed: durable, for `microbotctl stats`. Written by the
-- flood-wait log around the Messenger (stats::flood_log), found by the
-- delivery's (account_id, random_id).
ALTER TABLE deliveries ADD COLUMN flood_waits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN flood_wait_seconds INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_random_id ON deliveries (account_id, random_id);
-- stats groups by slot over a window.
CREATE INDEX deliveries_slot ON deliveries (slot);

-- Remote callers (mutual TLS, control.tcp_listen) are audited with uid -1
-- and their client certificate's subject common name here; NULL for the
-- Unix socket's callers.
ALTER TABLE audit ADD COLUMN subject TEXT;
