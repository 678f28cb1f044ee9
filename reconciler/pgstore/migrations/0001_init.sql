-- trueup's store, version 1. Runs with search_path set to trueup's schema.
-- Records are the JSON of the core's types; the other columns are what is queried.
-- Names are compared as bytes (COLLATE "C"): listings sort in byte order.

CREATE TABLE stacks (
    name  text COLLATE "C" PRIMARY KEY,
    state json NOT NULL
);

-- Runs started and not finished.
CREATE TABLE inflight (
    id     text COLLATE "C" PRIMARY KEY,
    stack  text COLLATE "C" NOT NULL,
    record json NOT NULL
);

-- run_heads holds each stack's last run sequence number; FinishRun locks its row, so the finishes
-- of one stack take turns and the history is trimmed to exactly HistoryLimit.
CREATE TABLE run_heads (
    stack text COLLATE "C" PRIMARY KEY,
    seq   bigint NOT NULL
);

-- Finished runs, newest = highest seq per stack.
CREATE TABLE runs (
    stack  text COLLATE "C" NOT NULL,
    seq    bigint NOT NULL,
    id     text COLLATE "C" NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (stack, seq),
    UNIQUE (stack, id)
);

-- counters hands out outbox sequence numbers under a row lock: they are committed in the order they
-- are handed out, never reused, and a reader never sees seq n+1 before seq n.
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('outbox', 0);

CREATE TABLE outbox (
    seq   bigint PRIMARY KEY,
    event json NOT NULL
);

CREATE TABLE branch_plans (
    target text COLLATE "C" NOT NULL,
    stack  text COLLATE "C" NOT NULL,
    plan   json NOT NULL,
    PRIMARY KEY (target, stack)
);

CREATE TABLE pulls (
    number integer PRIMARY KEY CHECK (number > 0),
    pull   json NOT NULL
);

CREATE TABLE merges (
    merge_commit text COLLATE "C" PRIMARY KEY,
    pull         integer NOT NULL CHECK (pull > 0)
);

-- The leader's lease: one row per name, never deleted, so epochs only grow. Times are the
-- database's clock.
CREATE TABLE lease (
    name     text PRIMARY KEY,
    holder   text NOT NULL,
    epoch    bigint NOT NULL,
    acquired timestamptz NOT NULL,
    renewed  timestamptz NOT NULL,
    expires  timestamptz NOT NULL
);

-- Webhook deliveries seen by any replica, kept 7 days for deduplication.
CREATE TABLE deliveries (
    source   text NOT NULL,
    id       text NOT NULL,
    received timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source, id)
);
CREATE INDEX deliveries_received ON deliveries (received);

-- Mutations a standby recorded for the leader to apply, oldest first.
CREATE TABLE intents (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     text NOT NULL,
    stack    text NOT NULL,
    revision text NOT NULL,
    created  timestamptz NOT NULL DEFAULT clock_timestamp()
);
