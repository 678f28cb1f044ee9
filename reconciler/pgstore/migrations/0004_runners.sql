-- Runners with two replicas (runner.executor other than local). replicas says where each replica
-- answers runners, so a standby forwards their calls to the leader; runner_keys holds the key that
-- seals what trueup tells the platform about each runner, shared so a new leader adopts the
-- runners of the one before.
CREATE TABLE replicas (
  holder  text PRIMARY KEY,
  address text NOT NULL,
  seen    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE runner_keys (
  name text PRIMARY KEY,
  key  bytea NOT NULL
);
