-- Every correctly signed delivery, by GitHub's delivery id (the same on a redelivery).
CREATE TABLE deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    action TEXT,
    outcome TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- Work to do, claimed with a lease. Times are Unix milliseconds.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (delivery_id),
    installation_id BIGINT NOT NULL,
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    outcome TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE INDEX jobs_pr ON jobs (repo, pr_number);
