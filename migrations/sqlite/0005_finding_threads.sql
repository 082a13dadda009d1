-- Findings live across pushes (issue 12): each posted finding keeps its text, its place, the
-- review comment and review thread it was posted in, and its state.
ALTER TABLE findings ADD COLUMN short_id TEXT;
ALTER TABLE findings ADD COLUMN side TEXT;
ALTER TABLE findings ADD COLUMN start_line BIGINT;
ALTER TABLE findings ADD COLUMN end_line BIGINT;
ALTER TABLE findings ADD COLUMN body TEXT;
ALTER TABLE findings ADD COLUMN comment_id BIGINT;
ALTER TABLE findings ADD COLUMN thread_id TEXT;
-- open, fixed, dismissed, outdated
ALTER TABLE findings ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE findings ADD COLUMN state_reason TEXT;
ALTER TABLE findings ADD COLUMN state_by TEXT;
ALTER TABLE findings ADD COLUMN state_at BIGINT;
