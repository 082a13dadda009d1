-- Crash accounting, the check run of each head, and the acknowledgement queue. No new index
-- on deliveries or jobs: every index costs each webhook's insert; /metrics counts live jobs
-- through jobs_ready (state first), and hourly pruning scans in primary-key order.

-- How often a worker died holding the job (its lease expired and another claim took it).
ALTER TABLE jobs ADD COLUMN lease_losses BIGINT NOT NULL DEFAULT 0;

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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX acks_job ON acks (job_id);
