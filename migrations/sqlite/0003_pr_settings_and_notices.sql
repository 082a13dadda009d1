-- Per-PR switches (`@codex pause` / `@codex resume`) and notices posted once (such as a
-- configuration error per base commit).
CREATE TABLE pr_settings (
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    paused BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo, pr_number)
);

CREATE TABLE notices (
    repo TEXT NOT NULL,
    pr_number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    notice_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, pr_number, kind, notice_key)
);

CREATE INDEX posted_reviews_recent ON posted_reviews (repo, pr_number, posted_at);
