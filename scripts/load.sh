#!/usr/bin/env bash
# Load benchmark: starts `codex-review serve` (release build, fresh SQLite file, GitHub and
# OpenAI pointed at a closed local port so queued jobs fail fast and never leave the machine),
# sends signed deliveries with examples/load.rs, and checks that every trigger became a job.
# Usage: scripts/load.sh [REQUESTS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS="${1:-20000}"
CONCURRENCY="${2:-32}"
PORT="${LOAD_PORT:-3917}"
SECRET="load-secret"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release --locked --bin codex-review --example load
BIN="${CARGO_TARGET_DIR:-target}/release"

GITHUB_APP_ID=1 GITHUB_PRIVATE_KEY_PATH=tests/fixtures/test-app-key.pem \
GITHUB_WEBHOOK_SECRET="$SECRET" OPENAI_API_KEY=sk-load \
GITHUB_API_URL="http://127.0.0.1:9" OPENAI_BASE_URL="http://127.0.0.1:9/v1" \
CODEX_REVIEW_WORKERS=1 RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$PORT" \
DATABASE_URL="sqlite://$WORK/load.db" "$BIN/codex-review" serve 2>"$WORK/serve.log" &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

"$BIN/examples/load" "http://127.0.0.1:$PORT" "$SECRET" ignored "$REQUESTS" "$CONCURRENCY"
"$BIN/examples/load" "http://127.0.0.1:$PORT" "$SECRET" trigger "$REQUESTS" "$CONCURRENCY"

# Each trigger counted as queued only once its delivery and job were committed.
JOBS=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^codex_review_webhook_deliveries_total\{event="issue_comment",outcome="queued"\}/ {n += $2} END {print n + 0}')
echo "triggers stored with their job: $JOBS (expected $REQUESTS)"
[ "$JOBS" -eq "$REQUESTS" ] || { echo "deliveries were lost"; exit 1; }
