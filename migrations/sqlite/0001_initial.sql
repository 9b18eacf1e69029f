-- microbot schema, version 1 (SQLite). Keep in step with ../postgres/.
-- Every time is Unix epoch milliseconds, UTC, as INTEGER (BIGINT on PostgreSQL): one portable
-- format for both backends and for backups.

CREATE TABLE accounts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL UNIQUE,
    phone             TEXT    NOT NULL,
    -- new | code_sent | password_needed | active | logged_out | limited | paused
    state             TEXT    NOT NULL DEFAULT 'new',
    tg_user_id        INTEGER,
    tg_display        TEXT,
    -- The MTProto session (auth key, DC options, peer cache), opaque bytes.
    session           BLOB,
    flood_wait_until  INTEGER,
    -- scheduler start/stop for this account; survives restarts.
    scheduler_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE targets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- the chat as the operator wrote it, canonicalised (@name, or a numeric id)
    spec           TEXT    NOT NULL,
    peer_id        INTEGER,
    peer_kind      TEXT,
    access_hash    INTEGER,
    title          TEXT,
    resolved_at    INTEGER,
    slowmode_until INTEGER,
    UNIQUE (account_id, spec)
);

CREATE TABLE templates (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    name          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    parse_mode    TEXT    NOT NULL DEFAULT 'plain',
    -- cron | every
    schedule_kind TEXT    NOT NULL,
    schedule_expr TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    -- origin of `every` schedules
    anchor_at     INTEGER NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    -- skip | once | all
    misfire       TEXT    NOT NULL DEFAULT 'once',
    -- the durable next slot; NULL when the schedule never fires again
    next_slot     INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE template_targets (
    template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    target_id   INTEGER NOT NULL REFERENCES targets(id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (template_id, target_id)
);

-- The outbox and the message log. Rows outlive their template (no foreign
-- key on template_id): the log of what was sent stays after a delete.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL,
    template_id INTEGER NOT NULL,
    target_id   INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    -- pending | sending | sent | failed | missed | cancelled
    state       TEXT    NOT NULL,
    -- committed before the first send; Telegram de-duplicates on it
    random_id   INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER,
    last_error  TEXT,
    message_id  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    UNIQUE (template_id, target_id, slot)
);
CREATE INDEX deliveries_open ON deliveries (state, not_before) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_created ON deliveries (created_at);
CREATE INDEX deliveries_account ON deliveries (account_id, created_at);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    uid    INTEGER NOT NULL,
    pid    INTEGER,
    method TEXT    NOT NULL,
    target TEXT,
    result TEXT    NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- Small daemon-wide facts that must survive restarts.
CREATE TABLE daemon_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
