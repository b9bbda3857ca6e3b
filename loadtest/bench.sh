#!/usr/bin/env bash
# The peak-day load test on this machine (`make bench`, after `make go-build`).
#
# Starts a stack of its own like e2e/stack.mjs: a keyring in a temporary
# folder, the database preschool_bench_seeded dropped and recreated with demo
# data, a Redis server of its own (BENCH_REDIS), the simulators, the back
# office with its drainer and the edge, all on free loopback ports. Before
# each run but the bare one, the edges, the back office and Redis restart on
# an empty Redis and a fresh copy of the seeded database (preschool_bench).
# So no run inherits the rows, keys and pending work of the runs before it,
# unless BENCH_FRESH=once. Then runs, in order:
#
#   bare    the driver against an in-process bare fasthttp server (ceiling)
#   sealing the closed model in BENCH_SEALING_CYCLES cycles of four runs:
#           plain, sealed, sealed, plain, then sealed, plain, plain, sealed.
#           The plain runs go to a second edge that stores personal data
#           unencrypted (bin/edge-plaintext, built with the benchplaintext
#           tag). The alternating order makes a run's position, and with
#           BENCH_FRESH=once the growing tables, weigh on both alike. The
#           summary's sealing_cost_pct compares the means of all plain and
#           all sealed runs, and sealing_cost_pct_by_cycle gives each
#           cycle's own figure.
#   plain   one closed run against the unencrypted edge
#   closed  1,000 connections posting registrations back to back
#   open    10,000 arrivals per second
#
# and prints each run's result line and a summary line. Everything is
# stopped and removed on exit. See loadtest/README.md for the figures.
#
# Settings (environment):
#   BENCH_DURATION           duration of every run (default: bare 60s, each sealing run 20s, plain 60s,
#                            closed 60s, open 30s)
#   BENCH_BARE_DURATION, BENCH_SEALING_DURATION, BENCH_PLAIN_DURATION, BENCH_CLOSED_DURATION,
#   BENCH_OPEN_DURATION
#   BENCH_CONNECTIONS        connections of each run (default 1000)
#   BENCH_OPEN_RATE          arrivals per second of the open run (default 10000)
#   BENCH_DRAIN_CONSUMERS    drainer goroutines of the back office (default 3, as DRAIN_CONSUMERS)
#   BENCH_MODES              runs to do, in order (default "bare sealing closed open")
#   BENCH_SEALING_CYCLES     cycles of four runs of the sealing mode (default 2)
#   BENCH_FRESH              "run" (default): a fresh stack before every run but the bare one.
#                            "once": one stack for all runs, each starting on the tables and keys
#                            of the runs before it
#   BENCH_PROFILE            a folder: also record Go CPU profiles of the edge and the back office and
#                            a system-wide perf profile during the closed run
#   BENCH_LOG_DIR            keep the stack's and the driver's logs in this folder
#                            (default: a temporary folder, removed on exit)
#   BENCH_BIN_DIR            where the binaries are (default bin/)
#   BENCH_REGISTRATION_LIMIT RATE/BURST of the registration route instead of deploy/limits.toml's,
#                            such as 8000/1000: above it the edge sheds registrations with 429
#   BENCH_POSTGRES           PostgreSQL server URL without a database
#                            (default postgres://postgres@127.0.0.1:5432)
#   BENCH_REDIS              "own" (default): a Redis server of the run's own, on a free port, with
#                            deploy/redis/redis.conf's persistence (AOF, fsync every second) but no
#                            replica; "shared": the Redis at REDIS_ADDR, under a key prefix
#   REDIS_ADDR               Redis address with BENCH_REDIS=shared (default 127.0.0.1:6379)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bin_dir=${BENCH_BIN_DIR:-$root/bin}
bare_duration=${BENCH_BARE_DURATION:-${BENCH_DURATION:-60s}}
sealing_duration=${BENCH_SEALING_DURATION:-${BENCH_DURATION:-20s}}
plain_duration=${BENCH_PLAIN_DURATION:-${BENCH_DURATION:-60s}}
closed_duration=${BENCH_CLOSED_DURATION:-${BENCH_DURATION:-60s}}
open_duration=${BENCH_OPEN_DURATION:-${BENCH_DURATION:-30s}}
connections=${BENCH_CONNECTIONS:-1000}
open_rate=${BENCH_OPEN_RATE:-10000}
# The back office's default is three drainers, each lingering DRAIN_LINGER
# for a fuller batch. They store larger batches than four drainers did.
# At the end of make bench's closed run they left a backlog of 0.08 s, and
# two drainers left 0.92 s (docs/benchmarks.md, "2026-12-05 12:14").
drain_consumers=${BENCH_DRAIN_CONSUMERS:-3}
modes=${BENCH_MODES:-bare sealing closed open}
sealing_cycles=${BENCH_SEALING_CYCLES:-2}
fresh=${BENCH_FRESH:-run}
profile_dir=${BENCH_PROFILE:-}
log_dir=${BENCH_LOG_DIR:-}
postgres=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
redis_mode=${BENCH_REDIS:-own}
redis_addr=${REDIS_ADDR:-127.0.0.1:6379}
database=preschool_bench
# The demo data is seeded once into this database, and every fresh stack's
# database is a copy of it.
seeded_database=preschool_bench_seeded

log() { printf 'bench: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

for duration in "$bare_duration" "$sealing_duration" "$plain_duration" "$closed_duration" "$open_duration"; do
  [[ $duration =~ ^[0-9]+s$ ]] || fail "invalid duration '$duration': give whole seconds such as 60s"
done
[[ $sealing_cycles =~ ^[1-9][0-9]*$ ]] || fail "invalid BENCH_SEALING_CYCLES '$sealing_cycles': give a whole number of at least 1"
[[ $fresh == run || $fresh == once ]] || fail "invalid BENCH_FRESH '$fresh': give run or once"
limit_rate= limit_burst=
if [[ -n ${BENCH_REGISTRATION_LIMIT:-} ]]; then
  [[ $BENCH_REGISTRATION_LIMIT =~ ^([0-9]+)/([0-9]+)$ ]] ||
    fail "invalid BENCH_REGISTRATION_LIMIT '$BENCH_REGISTRATION_LIMIT': give RATE/BURST, such as 8000/1000"
  limit_rate=${BASH_REMATCH[1]} limit_burst=${BASH_REMATCH[2]}
fi
for binary in edge backoffice simulators loaddriver; do
  [[ -x $bin_dir/$binary ]] || fail "missing $bin_dir/$binary: run 'make go-build' first"
done
needs_plain_edge=
if [[ " $modes " == *" plain "* || " $modes " == *" sealing "* ]]; then
  needs_plain_edge=1
  [[ -x $bin_dir/edge-plaintext ]] ||
    fail "missing $bin_dir/edge-plaintext for the unencrypted runs: run 'make bench', which builds it"
fi
command -v psql >/dev/null || fail "psql is missing: install PostgreSQL's client (apt-get install postgresql-client)"
command -v redis-cli >/dev/null || fail "redis-cli is missing: install Redis's tools (apt-get install redis-tools)"
case $redis_mode in
  own) command -v redis-server >/dev/null || fail "redis-server is missing: install it (apt-get install redis-server), or set BENCH_REDIS=shared" ;;
  shared) ;;
  *) fail "invalid BENCH_REDIS '$redis_mode': give own or shared" ;;
esac

# The database name is fixed, so two benches on one machine would drop each
# other's database.
exec 9>"${TMPDIR:-/tmp}/preschool-bench.lock"
flock -n 9 || fail "another bench is running on this machine (lock ${TMPDIR:-/tmp}/preschool-bench.lock)"

psql "$postgres/postgres?sslmode=disable" -qAtc 'SELECT 1' >/dev/null ||
  fail "cannot reach PostgreSQL at $postgres: start it, for example: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
redis_host=${redis_addr%:*}
redis_port=${redis_addr##*:}
if [[ $redis_mode == shared ]]; then
  redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null ||
    fail "cannot reach Redis at $redis_addr: start it, for example: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/preschool-bench.XXXXXX")
logs=${log_dir:-$work/logs}
# Each fresh stack on a shared Redis takes a key prefix of its own under
# this one.
prefix_base="bench:$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n'):"
prefix=$prefix_base
# pids lists the processes that cleanup stops (simulators, drivers,
# profilers), and stack_pids those of the current stack, which fresh_stack
# replaces.
pids=()
stack_pids=()
edge_pid= plain_edge_pid= backoffice_pid=

# stop_stack stops the edges, then the back office, then the run's own
# Redis, each after the one before has exited, so that the back office's
# drainers do not log a lost Redis while they shut down.
stop_stack() {
  local i
  for ((i = ${#stack_pids[@]} - 1; i >= 0; i--)); do
    kill "${stack_pids[i]}" 2>/dev/null || true
    wait "${stack_pids[i]}" 2>/dev/null || true
  done
  stack_pids=()
}

# remove_shared_keys removes the keys matching a pattern from the shared
# Redis. Batches of 500 keep each UNLINK short (10,000 keys blocked Redis
# for up to a second), because other users share that Redis.
remove_shared_keys() {
  redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "$1" |
    xargs -r -n 500 redis-cli -h "$redis_host" -p "$redis_port" unlink >/dev/null ||
    log "could not remove the Redis keys $1"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_stack
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if ((status != 0)) && [[ -d $logs ]]; then
    for file in "$logs"/*.log; do
      log "last lines of $(basename "$file"):"
      tail -n 5 "$file" >&2 || true
    done
  fi
  for name in "$database" "$seeded_database"; do
    psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 ||
      log "could not drop the database $name"
  done
  # Receipts and claims live for 400 days (EDGE_RECEIPT_TTL), so the run's
  # keys are removed here or a shared Redis keeps growing with every bench.
  # The run's own Redis has stopped above, and its files go with $work.
  if [[ $redis_mode == shared ]]; then
    remove_shared_keys "${prefix_base}*"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below
# Linux's default ephemeral range (32768 to 60999), from which the driver's
# 1,000 connections take their local ports. ss cannot see a port whose
# server has not started yet, so the ports handed out are kept in a file:
# each call runs in a subshell, where a variable would not last.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 12000))
    if ! grep -qx "$port" "$work/ports" 2>/dev/null && [[ -z $(ss -Htln "sport = :$port") ]]; then
      echo "$port" >>"$work/ports"
      echo "$port"
      return
    fi
  done
  fail "no free port found between 20000 and 32000"
}

# cpu_ticks prints the user plus system CPU ticks of one process, or 0 when
# it has exited.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  stat=${stat##*) }
  read -r -a fields <<<"$stat"
  echo $((fields[11] + fields[12]))
}

# snapshot_ticks writes "pid ticks" lines for the given processes to a file.
snapshot_ticks() {
  local file=$1 pid
  shift
  : >"$file"
  for pid in "$@"; do
    [[ -n $pid ]] || continue
    echo "$pid $(cpu_ticks "$pid")" >>"$file"
  done
}

# ticks_since prints the CPU ticks that the processes of a snapshot used
# since it was taken, leaving out processes that have exited since.
ticks_since() {
  local total=0 pid before now
  while read -r pid before; do
    now=$(cpu_ticks "$pid")
    ((now >= before)) && total=$((total + now - before))
  done <"$1"
  echo "$total"
}

# busy_ticks prints the machine's busy CPU ticks (all but idle and iowait).
busy_ticks() {
  local user nice system irq softirq steal
  read -r _ user nice system _ _ irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

machine_facts() {
  local cpu memory commit
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  memory=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git status --porcelain 2>/dev/null) ]]; then commit="$commit+changes"; fi
  echo "machine: nproc=$(nproc) cpu=\"$cpu\" memory=\"$memory\" $(go version 2>/dev/null | cut -d' ' -f3,4 || echo 'go unknown') redis=\"$(redis-server --version 2>/dev/null | cut -d' ' -f3)\" postgres=\"$(psql "$postgres/postgres?sslmode=disable" -qAtc 'SHOW server_version')\" commit=$commit date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

mkdir -p "$logs" "$work/uploads"
edge_port=$(free_port)
plain_edge_port=$(free_port)
backoffice_port=$(free_port)
identity_port=$(free_port)
certificates_port=$(free_port)
data_port=$(free_port)

own_redis_pid=
if [[ $redis_mode == own ]]; then
  redis_host=127.0.0.1
  redis_port=$(free_port)
  redis_addr=$redis_host:$redis_port
fi

# start_own_redis starts the run's own Redis, empty, on redis_port. It uses
# the persistence of deploy/redis/redis.conf, because the append-only file
# is part of what each registration costs (about 10 us of Redis CPU and 5 %
# of the rate). There is no replica here, so the replication settings are
# left out. Automatic rewrites are off: each forks a child that rewrites
# gigabytes of receipts, which a production Redis host runs on a spare core,
# and here it moved sealing runs by 20 % (docs/benchmarks.md).
start_own_redis() {
  rm -rf "$work/redis"
  mkdir -p "$work/redis"
  redis-server "$root/deploy/redis/redis.conf" --port "$redis_port" --bind "$redis_host" --dir "$work/redis" \
    --daemonize no --save '' --min-replicas-to-write 0 --auto-aof-rewrite-percentage 0 --logfile "$logs/redis.log" &
  own_redis_pid=$!
  stack_pids+=("$own_redis_pid")
  for _ in $(seq 1 50); do
    redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1 && return 0
    kill -0 "$own_redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "the run's own Redis did not start on $redis_addr (see $logs/redis.log)"
}

export CRYPTO_KEYRING_FILE=$work/keyring.json
export CRYPTO_SIGNING_KEY_FILE=$work/signing-key.pem
export CRYPTO_SIGNING_KEY_ID=bench
export DATABASE_URL="$postgres/$database?sslmode=disable"
export REDIS_ADDR=$redis_addr
export REDIS_PREFIX=$prefix
export BACKOFFICE_LISTEN=127.0.0.1:$backoffice_port
export BACKOFFICE_DEV_SIGN_IN=false
export EDGE_LISTEN=127.0.0.1:$edge_port
export EDGE_OPERATIONS_LISTEN=127.0.0.1:0
export EDGE_UPLOAD_DIR=$work/uploads
export IDENTITY_URL=http://127.0.0.1:$identity_port
export CERTIFICATES_URL=http://127.0.0.1:$certificates_port
export DATA_API_URL=http://127.0.0.1:$data_port
export SIM_IDENTITY_LISTEN=127.0.0.1:$identity_port
export SIM_CERTIFICATES_LISTEN=127.0.0.1:$certificates_port
export SIM_DATA_LISTEN=127.0.0.1:$data_port
export SIM_CRYPTO_LISTEN=127.0.0.1:0
export SIM_SMS_LISTEN=127.0.0.1:0
export SIM_RATING_LISTEN=127.0.0.1:0
export SIM_GATEWAY_UPSTREAM=off
export DRAIN_CONSUMERS=$drain_consumers
export LOG_LEVEL=warn
# An unchanged copy of the deployed limits, so that an edit of
# deploy/limits.toml during a run does not change the limits mid-run. The
# per-client limit (5 per second) keys on the parent, and the driver gives
# every request its own parent, so the defaults do not throttle a
# legitimate 15,000 per second.
cp deploy/limits.toml "$work/limits.toml"
if [[ -n $limit_rate ]]; then
  sed -i "s|^\"POST /api/v1/registrations\" = .*|\"POST /api/v1/registrations\" = { rate = $limit_rate, burst = $limit_burst }|" "$work/limits.toml"
  grep -q "^\"POST /api/v1/registrations\" = { rate = $limit_rate, burst = $limit_burst }" "$work/limits.toml" ||
    fail "deploy/limits.toml has no line for POST /api/v1/registrations to change"
fi
export EDGE_LIMITS_FILE=$work/limits.toml

machine_facts
log "stack: database $database, Redis $redis_addr ($redis_mode) prefix $prefix_base, edge 127.0.0.1:$edge_port, DRAIN_CONSUMERS=$drain_consumers, fresh $fresh"

for name in "$database" "$seeded_database"; do
  PGOPTIONS='-c client_min_messages=warning' psql "$postgres/postgres?sslmode=disable" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
done
"$bin_dir/backoffice" keygen "$CRYPTO_KEYRING_FILE" "$CRYPTO_SIGNING_KEY_FILE"
# The seed also publishes the edge's configuration snapshot to Redis, and
# the back office publishes it again to each fresh stack when it starts.
if [[ $redis_mode == own ]]; then start_own_redis; fi
DATABASE_URL="$postgres/$seeded_database?sslmode=disable" "$bin_dir/backoffice" seed -demo >"$logs/seed.log" 2>&1 ||
  { cat "$logs/seed.log" >&2; fail "seeding $seeded_database failed"; }
# The seeded database is frozen and analysed once, so that every copy starts
# with its hint bits, visibility map and statistics set, and no copy's first
# run pays for them.
started=$SECONDS
psql "$postgres/$seeded_database?sslmode=disable" -qc 'VACUUM (FREEZE, ANALYZE)' >/dev/null ||
  fail "could not vacuum $seeded_database"
log "seeded database vacuumed in $((SECONDS - started)) s"

wait_ready() {
  local name=$1 url=$2 pid=$3
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "$name exited while starting"
    sleep 0.2
  done
  fail "$name not ready at $url within 60 s"
}

edge_pprof=
backoffice_pprof=
if [[ -n $profile_dir ]]; then
  mkdir -p "$profile_dir"
  edge_pprof=127.0.0.1:$(free_port)
  backoffice_pprof=127.0.0.1:$(free_port)
fi

"$bin_dir/simulators" >"$logs/simulators.log" 2>&1 &
pids+=($!)
wait_ready simulators "$IDENTITY_URL/healthz" "${pids[-1]}"

# fresh_stack restarts the edges and the back office on an empty Redis (a
# restarted own Redis, or a new key prefix of a shared one) and a new copy of
# the seeded database. STRATEGY FILE_COPY checkpoints before and after the
# copy, so every run starts right after a checkpoint. On one stack, two
# consecutive 20 s runs of the same edge differed by 10 %, and Redis's CPU
# per registration by 16 % (docs/benchmarks.md).
stack_count=0
fresh_stack() {
  local started=$SECONDS
  stop_stack
  stack_count=$((stack_count + 1))
  if [[ $redis_mode == own ]]; then
    start_own_redis
  else
    remove_shared_keys "${prefix}*"
    prefix="${prefix_base}s$stack_count:"
    export REDIS_PREFIX=$prefix
  fi
  PGOPTIONS='-c client_min_messages=warning' psql "$postgres/postgres?sslmode=disable" -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" \
    -c "CREATE DATABASE $database TEMPLATE $seeded_database STRATEGY FILE_COPY" \
    -c "ALTER DATABASE $database SET track_functions = 'pl'" >/dev/null ||
    fail "could not copy $seeded_database to $database"

  PPROF_LISTEN=$backoffice_pprof "$bin_dir/backoffice" serve >>"$logs/backoffice.log" 2>&1 &
  stack_pids+=($!)
  backoffice_pid=$!
  wait_ready backoffice "http://$BACKOFFICE_LISTEN/readyz" "$backoffice_pid"
  PPROF_LISTEN=$edge_pprof "$bin_dir/edge" >>"$logs/edge.log" 2>&1 &
  stack_pids+=($!)
  edge_pid=$!
  wait_ready edge "http://$EDGE_LISTEN/readyz" "$edge_pid"
  plain_edge_pid=
  if [[ -n $needs_plain_edge ]]; then
    EDGE_LISTEN=127.0.0.1:$plain_edge_port "$bin_dir/edge-plaintext" >>"$logs/edge-plaintext.log" 2>&1 &
    stack_pids+=($!)
    plain_edge_pid=$!
    wait_ready edge-plaintext "http://127.0.0.1:$plain_edge_port/readyz" "$plain_edge_pid"
  fi
  log "fresh stack $stack_count ready in $((SECONDS - started)) s"
}

declare -A lines=()
ran=()
check_failed=0

# run_driver runs one mode (or one run of the sealing mode: plain1, sealed1
# and so on, all closed-model) and records its result line and the CPU time of
# each part of the stack during the run.
run_driver() {
  local mode=$1 duration=$2 edge_address=$EDGE_LISTEN target_pid driver_mode=$1
  shift 2
  case $mode in
    plain* | sealed*) driver_mode=closed ;;
  esac
  if [[ $mode != bare ]] && [[ $fresh == run || $stack_count == 0 ]]; then
    fresh_stack
  fi
  target_pid=$edge_pid
  if [[ $mode == plain* ]]; then
    edge_address=127.0.0.1:$plain_edge_port
    target_pid=$plain_edge_pid
  fi
  ran+=("$mode")
  local clock_ticks output status driver_pid before_busy after_busy
  local -a postgres_pids redis_pids
  clock_ticks=$(getconf CLK_TCK)
  echo "load before $mode: $(uptime | sed 's/^.*load average/load average/')"

  output=$work/$mode.out
  LOG_LEVEL=info "$bin_dir/loaddriver" -mode "$driver_mode" -edge "http://$edge_address" -connections "$connections" -duration "$duration" "$@" \
    >"$output" 2>"$logs/driver-$mode.log" &
  driver_pid=$!
  pids+=("$driver_pid")
  # The driver reads the catalogue first, which the edge throttles per
  # address, so the CPU window starts when the load does.
  for _ in $(seq 1 600); do
    grep -q '"load starting"' "$logs/driver-$mode.log" 2>/dev/null && break
    kill -0 "$driver_pid" 2>/dev/null || break
    sleep 0.1
  done
  # PostgreSQL's figure counts the backends connected to this database;
  # its background writers serve every database of the server and are left
  # out. The run's own Redis counts alone. A shared Redis serves everyone on
  # the machine, so every redis-server counts, with other users' commands.
  mapfile -t postgres_pids < <(psql "$postgres/postgres?sslmode=disable" -qAtc \
    "SELECT pid FROM pg_stat_activity WHERE datname = '$database'")
  if [[ $redis_mode == own ]]; then
    redis_pids=("$own_redis_pid")
  else
    mapfile -t redis_pids < <(pgrep -x redis-server || true)
  fi
  snapshot_ticks "$work/edge.ticks" "$target_pid"
  snapshot_ticks "$work/backoffice.ticks" "$backoffice_pid"
  snapshot_ticks "$work/postgres.ticks" "${postgres_pids[@]}"
  snapshot_ticks "$work/redis.ticks" "${redis_pids[@]}"
  before_busy=$(busy_ticks)
  if [[ -n $profile_dir && $mode == closed ]]; then
    record_profiles "$duration"
  fi
  # The load ends after the duration. The CPU figures are read then,
  # before the driver waits for the back office to drain the stream.
  sleep "$duration"
  after_busy=$(busy_ticks)
  local edge_cpu backoffice_cpu postgres_cpu redis_cpu busy_cpu
  edge_cpu=$(ticks_since "$work/edge.ticks")
  backoffice_cpu=$(ticks_since "$work/backoffice.ticks")
  postgres_cpu=$(ticks_since "$work/postgres.ticks")
  redis_cpu=$(ticks_since "$work/redis.ticks")
  busy_cpu=$((after_busy - before_busy))

  status=0
  wait "$driver_pid" || status=$?
  if [[ $driver_mode != "$mode" ]]; then
    sed -i "s/^mode=$driver_mode /mode=$mode /" "$output"
  fi
  cat "$output"
  case $status in
    0) ;;
    3) check_failed=1 ;;
    *) sed -n '$p' "$logs/driver-$mode.log" >&2; fail "the $mode run failed (exit status $status)" ;;
  esac
  lines[$mode]=$(tail -n 1 "$output")

  # CPU seconds of each part during the load, and per accepted request. In
  # the bare run the driver's figure includes the bare server in it.
  local accepted driver_cpu
  accepted=$(field "${lines[$mode]}" accepted)
  driver_cpu=$(field "${lines[$mode]}" driver_cpu_s)
  echo "cpu_s mode=$mode window_s=${duration%s} machine_busy=$(seconds "$busy_cpu" "$clock_ticks") of $(($(nproc) * ${duration%s}))" \
    "edge=$(seconds "$edge_cpu" "$clock_ticks") backoffice=$(seconds "$backoffice_cpu" "$clock_ticks")" \
    "postgres=$(seconds "$postgres_cpu" "$clock_ticks") redis_all=$(seconds "$redis_cpu" "$clock_ticks") driver=$driver_cpu"
  if [[ $mode != bare && ${accepted:-0} -gt 0 ]]; then
    echo "cpu_us_per_accepted mode=$mode edge=$(per_request "$edge_cpu" "$accepted")" \
      "backoffice=$(per_request "$backoffice_cpu" "$accepted") postgres=$(per_request "$postgres_cpu" "$accepted")" \
      "redis_all=$(per_request "$redis_cpu" "$accepted")" \
      "driver=$(awk -v s="$driver_cpu" -v n="$accepted" 'BEGIN { printf "%.0f", s / n * 1e6 }')"
  fi
}

per_request() { awk -v ticks="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.0f", ticks / hz / n * 1e6 }'; }

seconds() { awk -v ticks="$1" -v hz="$2" 'BEGIN { printf "%.1f", ticks / hz }'; }

# record_profiles records, in the background, a Go CPU profile of the edge
# and a system-wide perf profile over the middle of the closed run.
record_profiles() {
  local duration=${1%s} start window
  start=$((duration > 20 ? 5 : duration / 4))
  window=$((duration - 2 * start))
  (
    sleep "$start"
    curl -fsS -o "$profile_dir/edge-closed.pprof" "http://$edge_pprof/debug/pprof/profile?seconds=$window" ||
      log "edge CPU profile failed"
  ) &
  pids+=($!)
  (
    sleep "$start"
    curl -fsS -o "$profile_dir/backoffice-closed.pprof" "http://$backoffice_pprof/debug/pprof/profile?seconds=$window" ||
      log "back-office CPU profile failed"
  ) &
  pids+=($!)
  if command -v perf >/dev/null; then
    (
      sleep "$start"
      perf record -a -g -o "$profile_dir/system-closed.perf" -- sleep "$window" >/dev/null 2>&1 ||
        log "perf record failed"
    ) &
    pids+=($!)
  fi
}

field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }
mean() { awk 'BEGIN { for (i = 1; i < ARGC; i++) sum += ARGV[i]; printf "%.0f", sum / (ARGC - 1) }' "$@"; }
# cost prints how much slower sealed is than plain, in percent.
cost() { awk -v sealed="$1" -v plain="$2" 'BEGIN { printf "%.1f", (plain - sealed) / plain * 100 }'; }
cycle_costs=()

for mode in $modes; do
  case $mode in
    bare) run_driver bare "$bare_duration" ;;
    sealing)
      for ((cycle = 1; cycle <= sealing_cycles; cycle++)); do
        first=$((2 * cycle - 1)) second=$((2 * cycle))
        if ((cycle % 2 == 1)); then
          order="plain$first sealed$first sealed$second plain$second"
        else
          order="sealed$first plain$first plain$second sealed$second"
        fi
        for run in $order; do
          run_driver "$run" "$sealing_duration"
        done
        # This cycle's own estimate, to show how far the cycles agree.
        cycle_plain=$(mean "$(field "${lines[plain$first]}" accepted_per_s)" "$(field "${lines[plain$second]}" accepted_per_s)")
        cycle_sealed=$(mean "$(field "${lines[sealed$first]}" accepted_per_s)" "$(field "${lines[sealed$second]}" accepted_per_s)")
        cycle_costs+=("$(cost "$cycle_sealed" "$cycle_plain")")
      done
      ;;
    plain) run_driver plain "$plain_duration" ;;
    closed) run_driver closed "$closed_duration" ;;
    open) run_driver open "$open_duration" -rate "$open_rate" ;;
    *) fail "unknown mode '$mode' in BENCH_MODES: use bare, sealing, plain, closed and open" ;;
  esac
done

if ((stack_count > 0)); then
  # Table statistics show whether the drainer and verifier used their indexes:
  # many sequential scans of a growing table mean a plan went wrong. They
  # count from the copy of the seeded database, so they cover the runs since
  # the last fresh stack.
  echo "postgres tables: $(psql "$DATABASE_URL" -AtF' ' -c "SELECT string_agg(relname || ' seq_scan=' || seq_scan || ' seq_tup_read=' || seq_tup_read || ' idx_scan=' || COALESCE(idx_scan, 0) || ' inserted=' || n_tup_ins || ' updated=' || n_tup_upd, '; ') FROM pg_stat_user_tables WHERE relname IN ('registration', 'application')")"

  # The rollup triggers run inside the drainer's insert transaction, so their
  # time is part of the drainer's cost per row. It is wall time, waits for
  # row locks included, per row inserted since the last fresh stack.
  echo "postgres rollup triggers: $(psql "$DATABASE_URL" -AtF' ' -c "
    SELECT string_agg(f.funcname || ' calls=' || f.calls || ' total_ms=' || round(f.total_time) ||
           ' per_row_us=' || COALESCE(round((f.total_time * 1000 / NULLIF(t.n_tup_ins, 0))::numeric, 1)::text, 'n/a'), '; ')
    FROM pg_stat_user_functions f
    JOIN pg_stat_user_tables t
      ON t.relname = CASE WHEN f.funcname LIKE '%_registrations' THEN 'registration' ELSE 'application' END
    WHERE f.funcname IN ('enrolment_rollup_registrations', 'enrolment_rollup_applications',
                         'certificate_rollup_registrations', 'certificate_rollup_applications')")"

  for name in edge backoffice; do
    errors=$(grep -c '"level":"ERROR"' "$logs/$name.log" || true)
    if ((errors > 0)); then
      echo "$name logged $errors errors; see its log (BENCH_LOG_DIR keeps it)"
      if [[ $name == backoffice && -n $needs_plain_edge ]]; then
        echo "  (the verifier cannot open the plain run's unencrypted records and logs each batch of them)"
      fi
    fi
  done
fi

echo "results:"
for run in "${ran[@]}"; do
  echo "${lines[$run]}"
done

closed_per_s=$(field "${lines[closed]:-}" accepted_per_s)
bare_per_s=$(field "${lines[bare]:-}" accepted_per_s)
ratio=n/a
if [[ -n $closed_per_s && -n $bare_per_s && $bare_per_s != 0 ]]; then
  ratio=$(awk -v a="$closed_per_s" -v b="$bare_per_s" 'BEGIN { printf "%.3f", a / b }')
fi
lost=0
duplicated=0
for run in "${ran[@]}"; do
  [[ $run != bare ]] || continue
  lost=$((lost + $(field "${lines[$run]}" lost)))
  duplicated=$((duplicated + $(field "${lines[$run]}" duplicated)))
done
# The sealing cost compares the means of all the alternating runs when
# there were any, else a plain run with the closed run.
sealed_per_s=$closed_per_s
plain_per_s=$(field "${lines[plain]:-}" accepted_per_s)
if [[ -n ${lines[plain1]:-} ]]; then
  plain_rates=() sealed_rates=()
  for run in "${ran[@]}"; do
    case $run in
      plain[0-9]*) plain_rates+=("$(field "${lines[$run]}" accepted_per_s)") ;;
      sealed[0-9]*) sealed_rates+=("$(field "${lines[$run]}" accepted_per_s)") ;;
    esac
  done
  plain_per_s=$(mean "${plain_rates[@]}")
  sealed_per_s=$(mean "${sealed_rates[@]}")
fi
sealing_cost=n/a
if [[ -n $sealed_per_s && -n $plain_per_s && $plain_per_s != 0 ]]; then
  sealing_cost=$(cost "$sealed_per_s" "$plain_per_s")
fi
by_cycle=$(IFS=,; echo "${cycle_costs[*]:-n/a}")
echo "closed_per_s=${closed_per_s:-n/a} sealed_per_s=${sealed_per_s:-n/a} plain_per_s=${plain_per_s:-n/a} sealing_cost_pct=$sealing_cost sealing_cost_pct_by_cycle=$by_cycle bare_per_s=${bare_per_s:-n/a} closed_to_bare=$ratio open_rate=$open_rate open_p99_ms=$(field "${lines[open]:-}" p99_ms | grep . || echo n/a) open_accepted_p99_ms=$(field "${lines[open]:-}" accepted_p99_ms | grep . || echo n/a) lost=$lost duplicated=$duplicated"
exit "$check_failed"
