-- A comment command that reached the standby is an intent too: which pull request, which comment.
ALTER TABLE intents ADD COLUMN pull_request integer NOT NULL DEFAULT 0;
ALTER TABLE intents ADD COLUMN comment bigint NOT NULL DEFAULT 0;
