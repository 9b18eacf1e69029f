-- microbot schema, version 3 (SQLite). Keep in step with ../postgres/.
-- SQLite is single-node (a second daemon on the same file refuses to start),
-- so these tables stay empty here; they exist so both schemas have the same
-- shape (backups, restores, tests).

CREATE TABLE cluster_nodes (
    node_id    TEXT    PRIMARY KEY,
    started_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

CREATE TABLE account_leases (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    owner      TEXT,
    epoch      INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_leases_owner ON account_leases (owner);
