-- microbot schema, version 3 (PostgreSQL): several daemons on one database.
-- Keep in step with ../sqlite/. Times are Unix epoch milliseconds, UTC, as
-- BIGINT like everywhere else, but always of the DATABASE's clock
-- (clock_timestamp()), never a node's: nodes' clocks may disagree.

-- One row per daemon that has run against this database.
CREATE TABLE cluster_nodes (
    node_id    TEXT   PRIMARY KEY,
    started_at BIGINT NOT NULL,
    -- renewed every cluster.retry; a node is live while this is younger
    -- than cluster.lease
    last_seen  BIGINT NOT NULL
);

-- Who may send for an account. A node sends only while it owns the row with
-- an unexpired lease; every take bumps epoch (the fencing token), and every
-- write for the account is conditional on (owner, epoch, expires_at).
CREATE TABLE account_leases (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    -- NULL: released
    owner      TEXT,
    epoch      BIGINT NOT NULL DEFAULT 0,
    -- the lease may be taken by anyone once this has passed
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX account_leases_owner ON account_leases (owner);
