-- One row per answer of the model API, kept as it arrives (failed conversations, failed
-- verifications, quiet and superseded reviews included): what it cost and whom it is charged
-- to. The spend caps, the hourly limits and the operator page's cost read these rows.
CREATE TABLE model_usage (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL,
    installation_id BIGINT NOT NULL,
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    -- Whom the per-person limit charges: a GitHub login, or `api:` and a token's id.
    person TEXT,
    model TEXT NOT NULL,
    -- The call's output format: a review, a verification, an answer.
    purpose TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    -- USD billionths; NULL when the model's price is unknown.
    cost_nanos BIGINT,
    billed_at BIGINT NOT NULL
);
CREATE INDEX model_usage_billed ON model_usage (billed_at);
CREATE INDEX model_usage_installation ON model_usage (installation_id, billed_at);
CREATE INDEX model_usage_person ON model_usage (person, billed_at);
-- No index on (repo, pr_number, billed_at): the last hour's rows are few on the time index,
-- and SQLite grouped the cost per day through such an index, three times slower.

-- What the runs recorded before this table existed, one row per run, so the caps' current
-- windows and the hourly limits keep counting it.
INSERT INTO model_usage (job_id, installation_id, repo, pr_number, person, model, purpose,
                         input_tokens, cached_tokens, output_tokens, reasoning_tokens,
                         cost_nanos, billed_at)
SELECT job_id, installation_id, repo, pr_number, person, '', 'run',
       input_tokens, cached_tokens, output_tokens, 0, cost_micros * 1000, finished_at
FROM review_runs
WHERE model_calls > 0 AND installation_id IS NOT NULL;
