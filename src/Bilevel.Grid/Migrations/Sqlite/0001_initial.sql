-- The grid's schema (design §4). Same tables, columns and constraints as Migrations/PostgreSql/0001_initial.sql;
-- times are INTEGER milliseconds since the Unix epoch from SQLite's clock, JSON is TEXT. STRICT tables keep
-- SQLite from storing a value of the wrong type.

CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('active', 'paused', 'cancelled', 'completed')),
    priority    INTEGER NOT NULL,
    device_kind TEXT    NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots       INTEGER NOT NULL CHECK (slots > 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
) STRICT;

-- AUTOINCREMENT: ids are never reused, so id order stays age order as PostgreSQL's identity is.
CREATE TABLE trials (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep_id          INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    params            TEXT    NOT NULL,
    seed              INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    phase             INTEGER NOT NULL DEFAULT 1 CHECK (phase IN (1, 2)),
    phase_switch_step INTEGER,
    outer_step        INTEGER NOT NULL DEFAULT 0,
    -- The fencing token: raised by every claim; every write of a running trial names it.
    attempt           INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL CHECK (max_attempts > 0),
    priority          INTEGER NOT NULL,
    device_kind       TEXT    NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots             INTEGER NOT NULL CHECK (slots > 0),
    lease_owner       TEXT,
    lease_ms          INTEGER,
    lease_expires_at  INTEGER,
    heartbeat_at      INTEGER,
    result            TEXT,
    error             TEXT,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    UNIQUE (sweep_id, number),
    -- A lease exists exactly while the trial runs.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_ms IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

-- Claims walk this index in claim order; the reaper and the worker list use the running ones.
CREATE INDEX trials_claim_order ON trials (device_kind, priority DESC, id) WHERE state = 'queued';
CREATE INDEX trials_running_leases ON trials (lease_expires_at) WHERE state = 'running';
CREATE INDEX trials_running_owner ON trials (lease_owner) WHERE state = 'running';
CREATE INDEX trials_sweep_state ON trials (sweep_id, state);

-- The latest checkpoint of a trial: an opaque payload the trial runner wrote at outer_step.
CREATE TABLE checkpoints (
    trial_id   INTEGER PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    outer_step INTEGER NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE metrics (
    trial_id    INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    step        INTEGER NOT NULL,
    value       REAL    NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (trial_id, name, step)
) STRICT;

CREATE TABLE workers (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    process_id   INTEGER NOT NULL,
    device_kind  TEXT    NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots        INTEGER NOT NULL CHECK (slots > 0),
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
) STRICT;
