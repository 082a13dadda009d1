-- One row per finished run of a job (a review, a command, a failure), for the operator page:
-- what was reviewed, what it found, what it cost and how long it took.
CREATE TABLE review_runs (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL,
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    head_sha TEXT,
    trigger_kind TEXT NOT NULL,
    -- posted, already_posted, quiet, skipped, replied, retry or failed
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    review_id BIGINT,
    p0 BIGINT NOT NULL DEFAULT 0,
    p1 BIGINT NOT NULL DEFAULT 0,
    p2 BIGINT NOT NULL DEFAULT 0,
    p3 BIGINT NOT NULL DEFAULT 0,
    model_calls BIGINT NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    cached_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    -- USD millionths; NULL when the model's price is unknown.
    cost_micros BIGINT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX review_runs_finished ON review_runs (finished_at);
