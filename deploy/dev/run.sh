#!/usr/bin/env bash
# Starts the whole system on this machine with seeded demo data: the
# simulators of the big-data centre, the back office and the edge. Ctrl-C
# stops everything. `make run` calls this after building.
set -euo pipefail
cd "$(dirname "$0")/../.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable}"
export REDIS_ADDR="${REDIS_ADDR:-127.0.0.1:6379}"
export CRYPTO_KEYRING_FILE="${CRYPTO_KEYRING_FILE:-.run/keyring.json}"
export CRYPTO_SIGNING_KEY_FILE="${CRYPTO_SIGNING_KEY_FILE:-.run/signing-key.pem}"
export CRYPTO_SIGNING_KEY_ID="${CRYPTO_SIGNING_KEY_ID:-dev}"
# The gateway simulator (SIM_GATEWAY_LISTEN) writes its public key and a
# demo client certificate to .run/gateway before the back office starts.
export GATEWAY_PUBLIC_KEY_FILE="${GATEWAY_PUBLIC_KEY_FILE:-.run/gateway/gateway-public-key.pem}"
export GATEWAY_KEY_ID="${GATEWAY_KEY_ID:-sim-gateway-1}"
export BACKOFFICE_DEV_SIGN_IN="${BACKOFFICE_DEV_SIGN_IN:-true}"
export EDGE_LISTEN="${EDGE_LISTEN:-127.0.0.1:8080}"
export EDGE_OPERATIONS_LISTEN="${EDGE_OPERATIONS_LISTEN:-127.0.0.1:9080}"
export BACKOFFICE_LISTEN="${BACKOFFICE_LISTEN:-127.0.0.1:8081}"
# The simulators listen on the SIM_*_LISTEN addresses, and the edge and the
# back office call them there unless their own URL keys are set. A second
# stack on this machine therefore needs only other ports.
export SIM_IDENTITY_LISTEN="${SIM_IDENTITY_LISTEN:-127.0.0.1:7101}"
export SIM_CERTIFICATES_LISTEN="${SIM_CERTIFICATES_LISTEN:-127.0.0.1:7102}"
export SIM_DATA_LISTEN="${SIM_DATA_LISTEN:-127.0.0.1:7103}"
export SIM_CRYPTO_LISTEN="${SIM_CRYPTO_LISTEN:-127.0.0.1:7104}"
export SIM_SMS_LISTEN="${SIM_SMS_LISTEN:-127.0.0.1:7105}"
export SIM_GATEWAY_LISTEN="${SIM_GATEWAY_LISTEN:-127.0.0.1:7106}"
export SIM_RATING_LISTEN="${SIM_RATING_LISTEN:-127.0.0.1:7107}"
export SIM_GATEWAY_UPSTREAM="${SIM_GATEWAY_UPSTREAM:-http://$BACKOFFICE_LISTEN}"
export IDENTITY_URL="${IDENTITY_URL:-http://$SIM_IDENTITY_LISTEN}"
export CERTIFICATES_URL="${CERTIFICATES_URL:-http://$SIM_CERTIFICATES_LISTEN}"
export DATA_API_URL="${DATA_API_URL:-http://$SIM_DATA_LISTEN}"
export SMS_API_URL="${SMS_API_URL:-http://$SIM_SMS_LISTEN}"
export RATING_API_URL="${RATING_API_URL:-http://$SIM_RATING_LISTEN}"
if [[ ${CRYPTO_PROVIDER:-local} == cloud ]]; then
  export CRYPTO_SERVICE_URL="${CRYPTO_SERVICE_URL:-http://$SIM_CRYPTO_LISTEN}"
fi
export EDGE_UPLOAD_DIR="${EDGE_UPLOAD_DIR:-.run/uploads}"
export BACKOFFICE_UPLOAD_DIR="${BACKOFFICE_UPLOAD_DIR:-$EDGE_UPLOAD_DIR}"
mkdir -p .run

check() {
  local name=$1 host=$2 port=$3 advice=$4
  if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "无法连接 $name（$host:$port）。Cannot reach $name at $host:$port." >&2
    echo "Start it first, for example:" >&2
    echo "  $advice" >&2
    exit 1
  fi
}
# pg_address prints the host and port of DATABASE_URL's server: from the
# URL's host (an IPv6 address in brackets too), or from host= and port= in
# its query, which take precedence as in libpq. It prints nothing for an
# address it cannot tell, such as a Unix socket, several hosts or a
# key=value string, and the binaries then report what they cannot reach.
pg_address() {
  [[ $1 =~ ^postgres(ql)?://([^/?]*)[^?]*(\?(.*))?$ ]] || return 0
  local authority=${BASH_REMATCH[2]##*@} query=${BASH_REMATCH[4]} host port pair
  if [[ $authority =~ ^\[([^]]+)\](:([0-9]+))?$ || $authority =~ ^([^:,]*)(:([0-9]+))?$ ]]; then
    host=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]}
  else
    return 0
  fi
  local -a pairs
  IFS='&' read -ra pairs <<<"$query"
  for pair in "${pairs[@]}"; do
    case $pair in
      host=*) host=${pair#host=} ;;
      port=*) port=${pair#port=} ;;
    esac
  done
  [[ -n $host && $host != /* && $host != *,* && ${port:-5432} =~ ^[0-9]+$ ]] || return 0
  echo "$host ${port:-5432}"
}

# redis_address prints the host and port of REDIS_ADDR (host:port, or
# [IPv6 address]:port), or nothing when it is neither.
redis_address() {
  if [[ $1 =~ ^\[([^]]+)\]:([0-9]+)$ || $1 =~ ^([^:]+):([0-9]+)$ ]]; then
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
  fi
}

read -r pg_host pg_port <<<"$(pg_address "$DATABASE_URL")"
if [[ -n $pg_host ]]; then
  check PostgreSQL "$pg_host" "$pg_port" 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
fi
read -r redis_host redis_port <<<"$(redis_address "$REDIS_ADDR")"
if [[ -n $redis_host ]]; then
  check Redis "$redis_host" "$redis_port" "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $redis_port --save \"\" --appendonly no"
fi

# A second `make run` would re-seed the running system's database and then
# fail to listen, so it stops here instead.
for address in "$EDGE_LISTEN" "$EDGE_OPERATIONS_LISTEN" "$BACKOFFICE_LISTEN" "$SIM_IDENTITY_LISTEN" "$SIM_CERTIFICATES_LISTEN" \
  "$SIM_DATA_LISTEN" "$SIM_CRYPTO_LISTEN" "$SIM_SMS_LISTEN" "$SIM_GATEWAY_LISTEN" "$SIM_RATING_LISTEN"; do
  if (exec 3<>"/dev/tcp/${address%:*}/${address##*:}") 2>/dev/null; then
    echo "端口 $address 已被占用，系统可能已在运行。Port $address is in use: the system may be running already." >&2
    echo "Stop it first (Ctrl-C in its terminal), or move this stack to free ports with EDGE_LISTEN, EDGE_OPERATIONS_LISTEN," >&2
    echo "BACKOFFICE_LISTEN and the simulators' SIM_*_LISTEN keys (see README.md), with a DATABASE_URL and a REDIS_PREFIX of its own." >&2
    exit 1
  fi
done

bin/backoffice keygen "$CRYPTO_KEYRING_FILE" "$CRYPTO_SIGNING_KEY_FILE"
LOG_LEVEL=warn bin/backoffice seed -demo
# A week of attendance, morning checks and weather for the dashboards.
LOG_LEVEL=warn bin/backoffice monitoring generate -days 7

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "已停止。Stopped."
}
# A signal ends the script after stopping, so that it does not go on past
# the wait below as if a process had exited.
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

wait_ready() {
  local name=$1 url=$2 pid=$3
  for _ in $(seq 1 150); do
    if curl -fsS "$url" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited; its log is .run/$name.log:" >&2
      tail -n 20 ".run/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "$name did not become ready at $url; see .run/$name.log" >&2
  exit 1
}

bin/simulators >.run/simulators.log 2>&1 &
pids+=($!)
wait_ready simulators "http://$SIM_IDENTITY_LISTEN/healthz" "${pids[-1]}"
bin/backoffice serve >.run/backoffice.log 2>&1 &
pids+=($!)
wait_ready backoffice "http://$BACKOFFICE_LISTEN/readyz" "${pids[-1]}"
bin/edge >.run/edge.log 2>&1 &
pids+=($!)
wait_ready edge "http://$EDGE_LISTEN/readyz" "${pids[-1]}"

cat <<TEXT

上海学前教育管理系统已启动（演示数据）。The system is running with demo data.

  家长端 Parents' pages:     http://$EDGE_LISTEN/
  管理端 Back office:        http://$BACKOFFICE_LISTEN/
      演示账号 Demo accounts: city.admin xuhui.admin xuhui.street xuhui.kindergarten xuhui.teacher
                             leader auditor security.admin，密码 Password: Shanghai#Demo2025
      首次登录时用手机验证器绑定动态口令（TOTP）；开发登录可直接选择市级或区管理员。
      The first sign-in enrols an authenticator app (TOTP); the development sign-in skips it.
  统一身份认证模拟 Identity:  http://$SIM_IDENTITY_LISTEN/
  短信模拟 SMS:              http://$SIM_SMS_LISTEN/ （发送记录见管理端“审核与通知 → 短信通知”）
  好差评模拟 Service rating: http://$SIM_RATING_LISTEN/ （“办不成事”反映见管理端“审核与通知 → 办不成事反映”）
  指标 Metrics:              http://$EDGE_OPERATIONS_LISTEN/metrics  http://$BACKOFFICE_LISTEN/metrics
  日志 Logs:                 .run/simulators.log .run/backoffice.log .run/edge.log

按 Ctrl-C 停止。Press Ctrl-C to stop.
TEXT
# wait -n returns the exit status of the first process to end; "|| true"
# keeps set -e from skipping the message below.
wait -n "${pids[@]}" || true
echo "A process exited; stopping the others. See the logs in .run/." >&2
