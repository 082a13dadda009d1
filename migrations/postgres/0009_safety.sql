-- Safety. The gate holds while a finding is open: each finding keeps its priority and the
-- last head it was reported on (a summary-only finding has no thread to follow, so it holds
-- the gate on the heads where the model still reports it).
ALTER TABLE findings ADD COLUMN priority BIGINT;
ALTER TABLE findings ADD COLUMN seen_sha TEXT;

-- A review API request belongs to the token that made it; an Idempotency-Key is scoped per
-- token.
ALTER TABLE api_reviews ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
DROP INDEX api_reviews_idempotency;
CREATE UNIQUE INDEX api_reviews_token_idempotency ON api_reviews (token_id, idempotency_key);

-- Spend caps: who asked for each run, and for which installation.
ALTER TABLE review_runs ADD COLUMN installation_id BIGINT;
ALTER TABLE review_runs ADD COLUMN person TEXT;
CREATE INDEX review_runs_person ON review_runs (person, finished_at);
CREATE INDEX review_runs_installation ON review_runs (installation_id, finished_at);

-- Redeliveries asked for, per delivery id, across passes and restarts.
CREATE TABLE redelivery_requests (
    guid TEXT PRIMARY KEY,
    asked BIGINT NOT NULL,
    last_asked_at BIGINT NOT NULL
);

-- A learning keeps only the maintainer's own reason: the titles stored with earlier ones were
-- written by the model, so they go.
UPDATE learnings SET title = '';

-- The status page's sign-outs: a session cookie issued before the last one is refused.
CREATE TABLE status_signouts (signed_out_at BIGINT NOT NULL);
