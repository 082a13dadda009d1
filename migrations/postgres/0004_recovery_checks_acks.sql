-- Crash accounting, the check run of each head, the acknowledgement queue, and the indexes
-- that keep /metrics and pruning off whole-table scans.

-- How often a worker died holding the job (its lease expired and another claim took it).
ALTER TABLE jobs ADD COLUMN lease_losses BIGINT NOT NULL DEFAULT 0;

CREATE INDEX jobs_state_created ON jobs (state, created_at);
CREATE INDEX jobs_state_updated ON jobs (state, updated_at);
CREATE INDEX jobs_delivery ON jobs (delivery_id);
CREATE INDEX deliveries_received ON deliveries (received_at);

-- One `codex-review` check run per reviewed head, reused across retries.
CREATE TABLE check_runs (
    repo TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    check_run_id BIGINT NOT NULL,
    completed BIGINT NOT NULL DEFAULT 0,
    -- The last completion, restored when a later run finds the review already posted.
    conclusion TEXT,
    title TEXT,
    summary TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo, head_sha)
);
CREATE INDEX check_runs_pr ON check_runs (repo, pr_number, updated_at);

-- The 👀 on a command comment: stored with the delivery, added by its own small loop so it
-- never waits behind running reviews.
CREATE TABLE acks (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT,
    repo TEXT NOT NULL,
    comment_id BIGINT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (repo, comment_id)
);
CREATE INDEX acks_due ON acks (state, run_after);
CREATE INDEX acks_updated ON acks (state, updated_at);
