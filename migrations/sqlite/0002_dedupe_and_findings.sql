-- Jobs for the same work join instead of piling up; reviews and findings are remembered so a
-- later review can cover only new commits and not repeat itself.
ALTER TABLE jobs ADD COLUMN head_sha TEXT;
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
ALTER TABLE jobs ADD COLUMN joined_comments TEXT NOT NULL DEFAULT '';

CREATE UNIQUE INDEX jobs_active_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_installation ON jobs (installation_id, state);

CREATE TABLE posted_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    head_sha TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    review_id BIGINT NOT NULL,
    posted_at BIGINT NOT NULL
);
CREATE INDEX posted_reviews_pr ON posted_reviews (repo, pr_number, id);

CREATE TABLE findings (
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    head_sha TEXT NOT NULL,
    review_id BIGINT NOT NULL,
    posted_at BIGINT NOT NULL,
    PRIMARY KEY (repo, pr_number, fingerprint)
);
