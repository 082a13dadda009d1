-- Reviews asked for through the review API (POST /v1/reviews): the request, its job, and
-- once done the structured result or the failure's explanation.
CREATE TABLE api_reviews (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT,
    body_hash TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    pull_request_url TEXT NOT NULL,
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    post BIGINT NOT NULL,
    -- queued (running is read from the job), done, failed or skipped
    status TEXT NOT NULL,
    detail TEXT,
    advice TEXT,
    head_sha TEXT,
    review_id BIGINT,
    result TEXT,
    model_calls BIGINT NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    cached_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    cost_micros BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX api_reviews_idempotency ON api_reviews (idempotency_key);
