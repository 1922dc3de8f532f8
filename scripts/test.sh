#!/usr/bin/env bash
# Run the whole suite on SQLite, then again on PostgreSQL when it is reachable.
# RETAIN_REQUIRE_POSTGRES=1 (set by .ci/run) makes an unreachable PostgreSQL a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL="${RETAIN_TEST_POSTGRES_URL:-postgresql://127.0.0.1:5432/test}"
export RETAIN_HOME="${RETAIN_HOME:-$(mktemp -d -t retain-test-XXXXXX)}"
export RETAIN_TEST_POSTGRES_URL="$PG_URL"
unset RETAIN_DATABASE_URL RETAIN_REDIS_URL

echo "== tests on SQLite (RETAIN_HOME=$RETAIN_HOME)"
"$BIN/pytest" --durations=30 "$@"

if "$BIN/python" - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL at {sys.argv[1]} is not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL ($PG_URL)"
  # The engine's own suite already runs every backend, PostgreSQL included, in the first pass;
  # tests marked one_pass do not use the database under test (their own SQLite file, Redis).
  RETAIN_DATABASE_URL="$PG_URL" "$BIN/pytest" --durations=30 --ignore=tests/analytics \
    -m "not one_pass" "$@"
elif [ "${RETAIN_REQUIRE_POSTGRES:-0}" = "1" ]; then
  echo "RETAIN_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable" >&2
  exit 1
else
  echo "== PostgreSQL not reachable: skipped the PostgreSQL pass (set RETAIN_REQUIRE_POSTGRES=1 to fail instead)"
fi
