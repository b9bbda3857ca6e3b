#!/usr/bin/env bash
# The staff list-page benchmark (`make bench-staff`): 120 signed-in staff
# members browse the back office's list pages at once.
#
# Creates the database $STAFF_BENCH_DATABASE with the seeded divisions and
# kindergartens, then `staffbench prepare` stores 120,000 registrations,
# about 96,000 applications, 20,000 audit events, 30,000 sign-in log rows
# and 120 bench.* accounts (city, district, street and kindergarten staff,
# auditors and security admins). A back office without the drainer and the
# verifier (BACKOFFICE_WORKERS=false, a replica that only serves pages)
# starts on a free loopback port, and `staffbench run` signs every account
# in with password and TOTP and lets each browse list pages for the
# duration. The last line is the result:
#
#   staff=120 requests=… requests_per_s=… p50_ms=… p95_ms=… p99_ms=… max_ms=… errors=0
#
# Everything it started is stopped, and the database and the Redis keys are
# removed on exit.
#
# Settings (environment):
#   STAFF_BENCH_DURATION       browsing time after the sign-ins (default 60s)
#   STAFF_BENCH_STAFF          concurrent staff members (default 120)
#   STAFF_BENCH_THINK          mean pause between one member's requests (default 1s)
#   STAFF_BENCH_REGISTRATIONS  registrations to store (default 120000)
#   STAFF_BENCH_DATABASE       database to create and drop (default preschool_staffbench)
#   STAFF_BENCH_REDIS_PREFIX   Redis key prefix (default staffbench:<random>:)
#   STAFF_BENCH_PROFILE        a file: record a Go CPU profile of the back office during the run
#   BENCH_BIN_DIR              where the binaries are (default bin/)
#   BENCH_POSTGRES             PostgreSQL server URL without a database
#                              (default postgres://postgres@127.0.0.1:5432)
#   REDIS_ADDR                 Redis address (default 127.0.0.1:6379)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bin_dir=${BENCH_BIN_DIR:-$root/bin}
duration=${STAFF_BENCH_DURATION:-60s}
staff=${STAFF_BENCH_STAFF:-120}
think=${STAFF_BENCH_THINK:-1s}
registrations=${STAFF_BENCH_REGISTRATIONS:-120000}
database=${STAFF_BENCH_DATABASE:-preschool_staffbench}
profile=${STAFF_BENCH_PROFILE:-}
postgres=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
redis_addr=${REDIS_ADDR:-127.0.0.1:6379}
prefix=${STAFF_BENCH_REDIS_PREFIX:-staffbench:$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n'):}

log() { printf 'bench-staff: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

[[ $duration =~ ^[0-9]+s$ ]] || fail "invalid STAFF_BENCH_DURATION '$duration': give whole seconds such as 60s"
[[ $database =~ ^[a-z_][a-z0-9_]*$ ]] || fail "invalid STAFF_BENCH_DATABASE '$database': use lower-case letters, digits and _"
for binary in backoffice staffbench; do
  [[ -x $bin_dir/$binary ]] || fail "missing $bin_dir/$binary: run 'make bench-staff' or 'go build -o bin/staffbench ./loadtest/staff'"
done
command -v psql >/dev/null || fail "psql is missing: install PostgreSQL's client (apt-get install postgresql-client)"
command -v redis-cli >/dev/null || fail "redis-cli is missing: install Redis's tools (apt-get install redis-tools)"

# The database is dropped and recreated, so two runs with one name would
# drop each other's database.
exec 9>"${TMPDIR:-/tmp}/preschool-bench-staff-$database.lock"
flock -n 9 || fail "another staff bench on the database $database is running"

psql "$postgres/postgres?sslmode=disable" -qAtc 'SELECT 1' >/dev/null ||
  fail "cannot reach PostgreSQL at $postgres: start it, for example: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
redis_host=${redis_addr%:*}
redis_port=${redis_addr##*:}
redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null ||
  fail "cannot reach Redis at $redis_addr: start it, for example: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"

work=$(mktemp -d "${TMPDIR:-/tmp}/preschool-bench-staff.XXXXXX")
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
    tail -n 10 "$work/backoffice.log" >&2 || true
  fi
  psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 ||
    log "could not drop the database $database"
  redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "${prefix}*" |
    xargs -r -n 500 redis-cli -h "$redis_host" -p "$redis_port" unlink >/dev/null ||
    log "could not remove the Redis keys ${prefix}*"
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 12000))
    if [[ -z $(ss -Htln "sport = :$port") ]]; then
      echo "$port"
      return
    fi
  done
  fail "no free port found between 20000 and 32000"
}

export CRYPTO_KEYRING_FILE=$work/keyring.json
export CRYPTO_SIGNING_KEY_FILE="$work/signing-key.pem"
export CRYPTO_SIGNING_KEY_ID=bench
export DATABASE_URL="$postgres/$database?sslmode=disable"
export REDIS_ADDR=$redis_addr
export REDIS_PREFIX=$prefix
export BACKOFFICE_LISTEN=127.0.0.1:$(free_port)
export BACKOFFICE_DEV_SIGN_IN=false
export BACKOFFICE_WORKERS=false
# Every bench account signs in from 127.0.0.1 within seconds.
export BACKOFFICE_LOGIN_ATTEMPTS_PER_MINUTE=100000
export LOG_LEVEL=warn

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then commit="$commit+changes"; fi
echo "machine: nproc=$(nproc) cpu=\"$cpu\" postgres=\"$(psql "$postgres/postgres?sslmode=disable" -qAtc 'SHOW server_version')\" commit=$commit date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

PGOPTIONS='-c client_min_messages=warning' psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
"$bin_dir/backoffice" keygen "$CRYPTO_KEYRING_FILE" "$CRYPTO_SIGNING_KEY_FILE"
"$bin_dir/backoffice" seed -demo >"$work/seed.log" 2>&1 || { cat "$work/seed.log" >&2; fail "seeding $database failed"; }
log "preparing $registrations registrations and $staff accounts in $database"
"$bin_dir/staffbench" prepare -registrations "$registrations" -staff "$staff"

pprof_listen=
if [[ -n $profile ]]; then pprof_listen=127.0.0.1:$(free_port); fi
PPROF_LISTEN=$pprof_listen "$bin_dir/backoffice" serve >"$work/backoffice.log" 2>&1 &
backoffice_pid=$!
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "http://$BACKOFFICE_LISTEN/readyz" 2>/dev/null; then break; fi
  kill -0 "$backoffice_pid" 2>/dev/null || fail "the back office exited while starting"
  sleep 0.2
done

profile_pid=
if [[ -n $profile ]]; then
  # The profile covers the browsing after the sign-ins, which take about
  # 20 s for 120 accounts.
  (sleep 25 && curl -fsS -o "$profile" "http://$pprof_listen/debug/pprof/profile?seconds=30") &
  profile_pid=$!
fi
"$bin_dir/staffbench" run -url "http://$BACKOFFICE_LISTEN" -staff "$staff" -duration "$duration" -think "$think"
if [[ -n $profile_pid ]]; then wait "$profile_pid" || log "the CPU profile was not recorded"; fi
