-- What people taught the reviewer of a repository by dismissing a finding with a reason.
CREATE TABLE learnings (
    id BIGSERIAL PRIMARY KEY,
    repo TEXT NOT NULL,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX learnings_repo ON learnings (repo, id);
