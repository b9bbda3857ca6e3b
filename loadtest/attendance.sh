#!/usr/bin/env bash
# The attendance dashboard benchmark (`make bench-dashboard-attendance`).
#
# Loads a month of raw attendance rows plus a year of rollups for 550,000
# children in 1,600 kindergartens into the database BENCH_DATABASE
# (kept after the run, so the next run can skip the load with
# BENCH_REUSE_DATA=1), prints the data volume and the disk it takes, starts
# a back office on a free loopback port with the development sign-in, and
# runs loadtest/attendance: 120 concurrent staff on the attendance panels. The last
# line printed is the driver's name=value summary.
#
# Settings (environment):
#   BENCH_DURATION      measured duration (default 60s), after a 5 s warm-up
#   BENCH_USERS         concurrent staff users (default 120)
#   BENCH_RAW_DAYS      calendar days of raw rows (default 31)
#   BENCH_ROLLUP_DAYS   calendar days of rollups before them (default 365)
#   BENCH_REUSE_DATA    1: keep the data of the previous run if it is there
#   BENCH_DROP          1: drop the database at the end
#   BENCH_DATABASE      database to load and keep (default monitoring_data_bench)
#   BENCH_KEY_DIR       where the keyring and signing key of that database are
#                       kept between runs (default $TMPDIR/preschool-bench-keys-<database>)
#   BENCH_BIN_DIR       where backoffice and attendancebench are (default bin/)
#   BENCH_POSTGRES      PostgreSQL server URL without a database
#   REDIS_ADDR          Redis address (default 127.0.0.1:6379)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bin_dir=${BENCH_BIN_DIR:-$root/bin}
duration=${BENCH_DURATION:-60s}
users=${BENCH_USERS:-120}
raw_days=${BENCH_RAW_DAYS:-31}
rollup_days=${BENCH_ROLLUP_DAYS:-365}
postgres=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
redis_addr=${REDIS_ADDR:-127.0.0.1:6379}
database=${BENCH_DATABASE:-monitoring_data_bench}
key_dir=${BENCH_KEY_DIR:-${TMPDIR:-/tmp}/preschool-bench-keys-$database}

log() { printf 'bench-attendance: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }
[[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || fail "invalid BENCH_DATABASE '$database': use lower-case letters, digits and underscores"

for binary in backoffice attendancebench; do
  [[ -x $bin_dir/$binary ]] || fail "missing $bin_dir/$binary: run 'make bench-dashboard-attendance', which builds it"
done
command -v psql >/dev/null || fail "psql is missing: install PostgreSQL's client (apt-get install postgresql-client)"
exec 9>"${TMPDIR:-/tmp}/preschool-bench-attendance.lock"
flock -n 9 || fail "another attendance bench is running on this machine"

work=$(mktemp -d "${TMPDIR:-/tmp}/preschool-bench-attendance.XXXXXX")
prefix="bench-attendance:$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n'):"
backoffice_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $backoffice_pid ]]; then
    kill "$backoffice_pid" 2>/dev/null || true
    wait "$backoffice_pid" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -f $work/backoffice.log ]]; then
    log "last lines of the back office's log:"
    tail -n 5 "$work/backoffice.log" >&2 || true
  fi
  redis-cli -h "${redis_addr%:*}" -p "${redis_addr##*:}" --scan --pattern "${prefix}*" |
    xargs -r -n 500 redis-cli -h "${redis_addr%:*}" -p "${redis_addr##*:}" unlink >/dev/null ||
    log "could not remove the Redis keys ${prefix}*"
  if [[ ${BENCH_DROP:-0} == 1 ]]; then
    psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 ||
      log "could not drop the database $database"
    rm -rf "$key_dir"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DATABASE_URL="$postgres/$database?sslmode=disable"
export REDIS_ADDR=$redis_addr
export REDIS_PREFIX=$prefix
# The back office signs the built-in roles with this key when it first
# serves a database, so a reused database needs the key of its first run.
export CRYPTO_KEYRING_FILE=$key_dir/keyring.json
export CRYPTO_SIGNING_KEY_FILE=$key_dir/signing-key.pem
export CRYPTO_SIGNING_KEY_ID=bench
export LOG_LEVEL=warn

raw_rows=$(psql "$DATABASE_URL" -qAtc 'SELECT count(*) FROM attendance_day' 2>/dev/null || echo 0)
if [[ ${BENCH_REUSE_DATA:-0} == 1 && $raw_rows -gt 0 ]]; then
  [[ -f $CRYPTO_KEYRING_FILE && -f $CRYPTO_SIGNING_KEY_FILE ]] ||
    fail "the keys that signed the roles of $database are missing from $key_dir: run without BENCH_REUSE_DATA=1 to load the data again"
  log "reusing $raw_rows raw rows in $database"
  "$bin_dir/backoffice" migrate >/dev/null
else
  psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
  rm -rf "$key_dir"
  mkdir -p -m 700 "$key_dir"
  "$bin_dir/backoffice" keygen "$CRYPTO_KEYRING_FILE" "$CRYPTO_SIGNING_KEY_FILE"
  "$bin_dir/backoffice" migrate >/dev/null
  "$bin_dir/backoffice" seed >/dev/null
  log "generating $raw_days days of raw rows and $rollup_days days of rollups before them"
  "$bin_dir/backoffice" monitoring generate -days "$raw_days" -rollup-days "$rollup_days" >&2
fi

echo "data volume (rows, total size with indexes):"
psql "$DATABASE_URL" -qAt -F ' ' -c "
  SELECT relname, reltuples::bigint, pg_size_pretty(pg_total_relation_size(oid)),
         round((pg_total_relation_size(oid) / GREATEST(reltuples, 1))::numeric, 1) AS bytes_per_row
  FROM pg_class
  WHERE relname IN ('monitoring_child', 'attendance_day', 'morning_check_abnormal', 'weather_day',
                    'attendance_kindergarten_day', 'attendance_district_day', 'arrival_kindergarten_slot', 'arrival_district_slot')
  ORDER BY pg_total_relation_size(oid) DESC" |
  awk '{printf "  %-28s %12s rows %10s %s %s bytes/row\n", $1, $2, $3, $4, $5}'
echo "  database total: $(psql "$DATABASE_URL" -qAtc "SELECT pg_size_pretty(pg_database_size('$database'))")"

port=$((20000 + RANDOM % 12000))
while [[ -n $(ss -Htln "sport = :$port") ]]; do port=$((20000 + RANDOM % 12000)); done
BACKOFFICE_LISTEN=127.0.0.1:$port BACKOFFICE_DEV_SIGN_IN=true BACKOFFICE_WORKERS=false \
  DATABASE_MAX_CONNS=${BENCH_DATABASE_CONNS:-20} "$bin_dir/backoffice" serve >"$work/backoffice.log" 2>&1 &
backoffice_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$backoffice_pid" 2>/dev/null || fail "the back office exited"
  sleep 0.2
done

echo "machine: nproc=$(nproc) load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" commit=$(git rev-parse --short HEAD 2>/dev/null) date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$bin_dir/attendancebench" -url "http://127.0.0.1:$port" -users "$users" -duration "$duration"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
