#!/usr/bin/env bash
# Loads the dashboard APIs with 120 concurrent staff on a season of
# generated data (see loadtest/README.md, "Dashboards"). It creates the
# database $DASHBOARD_BENCH_DB, seeds it with 1,600 kindergartens and
# $DASHBOARD_BENCH_REGISTRATIONS registrations, starts a back office on a
# free loopback port, runs bin/dashboards-load and prints its name=value
# line last. On exit it stops the back office, drops the database and
# deletes its Redis keys.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=${BENCH_BIN_DIR:-bin}
postgres=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
database=${DASHBOARD_BENCH_DB:-dashboards_bench}
registrations=${DASHBOARD_BENCH_REGISTRATIONS:-120000}
users=${DASHBOARD_BENCH_USERS:-120}
duration=${DASHBOARD_BENCH_DURATION:-60s}
cache_ttl=${DASHBOARD_CACHE_TTL:-10s}
work=$(mktemp -d)
prefix="dashbench:$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n'):"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_pid=""

cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  psql "$postgres/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "${prefix}*" | xargs -r -n 500 redis-cli unlink >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="$postgres/$database?sslmode=disable"
export REDIS_PREFIX="$prefix"
export CRYPTO_KEYRING_FILE="$work/keyring.json"
export CRYPTO_SIGNING_KEY_FILE="$work/signing-key.pem"
export CRYPTO_SIGNING_KEY_ID=bench
export BACKOFFICE_LISTEN="127.0.0.1:$port"
export BACKOFFICE_DEV_SIGN_IN=true
export BACKOFFICE_WORKERS=false
export DASHBOARD_CACHE_TTL="$cache_ttl"
export LOG_LEVEL=warn

psql "$postgres/postgres" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null
"$bin_dir/backoffice" keygen "$CRYPTO_KEYRING_FILE" "$CRYPTO_SIGNING_KEY_FILE"
"$bin_dir/backoffice" seed -demo >"$work/seed.log"
"$bin_dir/backoffice" dashboard generate-enrolment -registrations "$registrations"
echo "data: $(psql "$DATABASE_URL" -Atc "SELECT pg_size_pretty(pg_database_size(current_database())) || ' database, ' ||
  (SELECT count(*) FROM enrolment_rollup) || ' hourly and ' || (SELECT count(*) FROM enrolment_daily_rollup) || ' daily rollup rows'")"

"$bin_dir/backoffice" serve >"$work/backoffice.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://$BACKOFFICE_LISTEN/readyz" >/dev/null && break
  sleep 0.2
done
echo "load before: $(cut -d' ' -f1 /proc/loadavg)"
"$bin_dir/dashboards-load" -base "http://$BACKOFFICE_LISTEN" -users "$users" -duration "$duration"
echo "load after: $(cut -d' ' -f1 /proc/loadavg)"
