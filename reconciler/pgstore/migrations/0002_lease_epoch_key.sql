-- (name, epoch) is a key of the lease: a takeover, which changes epoch, is a key update, and so
-- waits for the fenced writes holding the row FOR KEY SHARE; a renewal or a release, which change
-- only times, is not, and never waits for them.
ALTER TABLE lease ADD CONSTRAINT lease_name_epoch UNIQUE (name, epoch);
