-- The grid's schema (design §4). Same tables, columns and constraints as Migrations/Sqlite/0001_initial.sql;
-- times are timestamptz from the server's clock, JSON is jsonb.

CREATE TABLE sweeps (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    spec        jsonb       NOT NULL,
    state       text        NOT NULL CHECK (state IN ('active', 'paused', 'cancelled', 'completed')),
    priority    integer     NOT NULL,
    device_kind text        NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots       integer     NOT NULL CHECK (slots > 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz
);

CREATE TABLE trials (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sweep_id          bigint      NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
    number            integer     NOT NULL,
    params            jsonb       NOT NULL,
    seed              bigint      NOT NULL,
    state             text        NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    phase             smallint    NOT NULL DEFAULT 1 CHECK (phase IN (1, 2)),
    phase_switch_step integer,
    outer_step        integer     NOT NULL DEFAULT 0,
    -- The fencing token: raised by every claim; every write of a running trial names it.
    attempt           integer     NOT NULL DEFAULT 0,
    failures          integer     NOT NULL DEFAULT 0,
    max_attempts      integer     NOT NULL CHECK (max_attempts > 0),
    priority          integer     NOT NULL,
    device_kind       text        NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots             integer     NOT NULL CHECK (slots > 0),
    lease_owner       text,
    lease_ms          integer,
    lease_expires_at  timestamptz,
    heartbeat_at      timestamptz,
    result            jsonb,
    error             text,
    created_at        timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz,
    UNIQUE (sweep_id, number),
    -- A lease exists exactly while the trial runs.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_ms IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- Claims walk this index in claim order; the reaper and the worker list use the running ones.
CREATE INDEX trials_claim_order ON trials (device_kind, priority DESC, id) WHERE state = 'queued';
CREATE INDEX trials_running_leases ON trials (lease_expires_at) WHERE state = 'running';
CREATE INDEX trials_running_owner ON trials (lease_owner) WHERE state = 'running';
CREATE INDEX trials_sweep_state ON trials (sweep_id, state);

-- The latest checkpoint of a trial: an opaque payload the trial runner wrote at outer_step.
CREATE TABLE checkpoints (
    trial_id   bigint      PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    attempt    integer     NOT NULL,
    outer_step integer     NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE metrics (
    trial_id    bigint           NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    name        text             NOT NULL,
    step        integer          NOT NULL,
    value       double precision NOT NULL,
    recorded_at timestamptz      NOT NULL,
    PRIMARY KEY (trial_id, name, step)
);

CREATE TABLE workers (
    id           text        PRIMARY KEY,
    host         text        NOT NULL,
    process_id   integer     NOT NULL,
    device_kind  text        NOT NULL CHECK (device_kind IN ('cpu', 'cuda')),
    slots        integer     NOT NULL CHECK (slots > 0),
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);
