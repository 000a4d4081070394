#!/usr/bin/env bash
# Tessera load benchmark: starts a release build on a scratch SQLite database (or the
# database in BENCH_DATABASE_URL), signs a user in once, then drives the hot paths with wrk:
# discovery, JWKS, client_credentials tokens, introspection (of a token seen before and of
# fresh ones), userinfo, the whole code flow with a live session (authorize -> code -> token
# -> userinfo), discovery while people sign in, and floods of password guesses.
#
#   bench/run.sh                      # 10 s per scenario, 2 threads, 32 connections
#   PIN=1 bench/run.sh                # server on core 0, wrk on the others (needs 2+ cores)
#   DURATION=30s CONNECTIONS=64 FLOWS=16 bench/run.sh
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/run.sh
#
# Each line gives requests/s, operations/s, latency percentiles and "per core": requests per
# second of CPU time the server used, read from /proc, so figures from machines with more or
# fewer cores compare. With PIN=1 the code flow runs on a server started unpinned (its goal
# is for the whole machine), and the server is started pinned again afterwards.
#
# Needs wrk (apt-get install wrk), curl, openssl, python3 and, for PIN=1, taskset.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
FLOWS=${FLOWS:-8}
PORT=${PORT:-18080}
PIN=${PIN:-0}
BASE="http://127.0.0.1:$PORT"
cores=$(nproc)
hz=$(getconf CLK_TCK)

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ "$PIN" = 1 ]; then
  [ "$cores" -ge 2 ] || { echo "PIN=1 needs at least two cores" >&2; exit 1; }
  server_cpus=0
  load_cpus="1-$((cores - 1))"
else
  server_cpus="0-$((cores - 1))"
  load_cpus="0-$((cores - 1))"
fi
all_cpus="0-$((cores - 1))"
if [ -z "${BENCH_BIN:-}" ]; then
  (cd "$root" && cargo build --release --quiet)
  BENCH_BIN="$root/target/release/tessera"
fi

work=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export TESSERA_ISSUER="$BASE" TESSERA_LISTEN="127.0.0.1:$PORT" TESSERA_KEYS_DIR="$work/keys"
export TESSERA_DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$work/bench.db}"
export TESSERA_ADMIN_PASSWORD="bench admin password" TESSERA_LOG=warn
export TESSERA_MAIL__OUTBOX_DIR="$work/outbox"

client=$("$BENCH_BIN" client add --name Bench --client-id bench --redirect-uri http://127.0.0.1:9/cb \
  --grant-types authorization_code,refresh_token,client_credentials --skip-consent --role user --json)
secret=$(printf '%s' "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
basic=$(printf 'bench:%s' "$secret" | base64 -w0)

# Starts the server (extra settings as arguments, e.g. VAR=value) on the server cores.
start_server() {
  env "$@" taskset -c "$server_cpus" "$BENCH_BIN" serve >>"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
rss() { awk -v k="$1" '$1==k":"{print int($2/1024)}' "/proc/$server/status"; }
load() { taskset -c "$load_cpus" wrk "$@"; }

# A login form's CSRF token and cookie, for the scripts that post to /login.
login_form() {
  local jar="$work/form-cookies"
  BENCH_CSRF_TOKEN=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
  BENCH_CSRF_COOKIE=$(awk '$6=="tessera_csrf"{print $7}' "$jar")
  export BENCH_CSRF_TOKEN BENCH_CSRF_COOKIE
}

start_server

# One signed-in browser session for the code flow; its device cookie for the sign-in scenario.
jar="$work/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "username=admin" --data-urlencode "password=$TESSERA_ADMIN_PASSWORD" "$BASE/login"
session=$(awk '$6=="tessera_session"{print $7}' "$jar")
device=$(awk '$6=="tessera_device"{print $7}' "$jar")
[ -n "$session" ] || { echo "could not sign in; see $work/server.log" >&2; exit 1; }

token=$(curl -fs -u "bench:$secret" -d grant_type=client_credentials "$BASE/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
verifier="benchmark-code-verifier-0123456789-abcdefghijklmnop"
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')

# A user's access token, from one pass through the code flow, for the userinfo scenario.
redirect=$(curl -fs -o /dev/null -w '%{redirect_url}' -b "$jar" \
  "$BASE/authorize?response_type=code&client_id=bench&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20profile%20email%20roles&code_challenge=$challenge&code_challenge_method=S256")
code=$(printf '%s' "$redirect" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
user_token=$(curl -fs -u "bench:$secret" -d grant_type=authorization_code -d "code=$code" \
  --data-urlencode "redirect_uri=http://127.0.0.1:9/cb" -d "code_verifier=$verifier" "$BASE/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

export BENCH_BASIC="$basic" BENCH_TOKEN="$token" BENCH_USER_TOKEN="$user_token" BENCH_SESSION="$session"
export BENCH_VERIFIER="$verifier" BENCH_CHALLENGE="$challenge"
export BENCH_DEVICE_COOKIE="$device" BENCH_PASSWORD="$TESSERA_ADMIN_PASSWORD"

# run NAME SCRIPT PATH [REQUESTS_PER_OP] [THREADS] [CONNECTIONS]: one wrk run, one line.
run() {
  local name=$1 script=$2 path=$3 per_op=${4:-1} threads=${5:-$THREADS} connections=${6:-$CONNECTIONS}
  local out before after
  before=$(cpu_ticks)
  out=$(load -t"$threads" -c"$connections" -d"$DURATION" --latency ${script:+-s "$here/$script"} "$BASE$path" 2>"$work/wrk.err")
  after=$(cpu_ticks)
  local rps p50 p99 errors requests per_core
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')
  errors=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx/{print $NF}')
  requests=$(printf '%s\n' "$out" | awk '/requests in/{print $1}')
  per_core=$(awk -v n="$requests" -v t=$((after - before)) -v hz="$hz" 'BEGIN{print (t > 0) ? n * hz / t : 0}')
  printf '%-36s %9.0f req/s %9.0f op/s  per core %9.0f req/s  p50 %-8s p99 %-8s non-2xx/3xx %s\n' \
    "$name" "$rps" "$(awk -v r="$rps" -v n="$per_op" 'BEGIN{print r/n}')" "$per_core" "$p50" "$p99" "${errors:-0}"
}

echo "Tessera benchmark: $THREADS threads, $CONNECTIONS connections, $DURATION per scenario, $cores cores"
echo "database: ${TESSERA_DATABASE_URL%%:*}; server on cores $server_cpus, wrk on cores $load_cpus"
run "discovery"                      ""                     /.well-known/openid-configuration
run "jwks"                           ""                     /jwks
BENCH_TOKENS_OUT="$work/tokens" run "token (client_credentials)" client_credentials.lua /token
run "introspection (seen before)"    introspect.lua         /introspect
BENCH_TOKENS_IN="$work/tokens" run "introspection (fresh tokens)" introspect_fresh.lua /introspect
grep -q wrapped "$work/wrk.err" && echo "  (the fresh tokens ran out: part of that run introspected tokens seen before)"
run "userinfo"                       userinfo.lua           /userinfo

# wrk shares one script state per thread, so each flow gets a thread with one connection.
# With PIN=1 the code flow gets a server started unpinned: the runtime sizes its worker
# threads by the cores the process may use when it starts.
if [ "$PIN" = 1 ]; then stop_server; server_cpus=$all_cpus start_server; fi
load_cpus=$all_cpus run "code flow, unpinned (3 requests/op)" code_flow.lua /authorize 3 "$FLOWS" "$FLOWS"
if [ "$PIN" = 1 ]; then stop_server; start_server; fi

# discovery_beside LABEL SCRIPT CONNECTIONS OUT DISCOVERY_CONNECTIONS [DURATION]: measures
# discovery while SCRIPT posts to /login with CONNECTIONS in the background (wrk output in OUT).
discovery_beside() {
  local label=$1 script=$2 connections=$3 out=$4 discovery=$5 duration=${6:-$DURATION}
  login_form
  load -t1 -c"$connections" -d"$duration" --latency -s "$here/$script" "$BASE/login" >"$work/$out" &
  local background=$!
  DURATION=$duration run "$label" "" /.well-known/openid-configuration 1 1 "$discovery"
  wait "$background"
}
# rate OUT: requests/s and the count of answers other than 2xx/3xx of a background run.
rate() { awk '/Requests\/sec/{r=$2} /Non-2xx or 3xx/{n=$NF} END{printf "%9.0f req/s  (non-2xx/3xx: %s", r, n+0}' "$work/$1"; }

# Discovery while 8 connections sign in with the right password (one argon2 hash each).
discovery_beside "discovery while 8 sign in" sign_in.lua 8 sign-in.txt 8
printf '%-36s %s)\n' "sign-ins meanwhile" "$(rate sign-in.txt)"

# Discovery while a script guesses passwords on /login with 16 connections (account lock and
# address throttling as shipped: most guesses are answered 429 before any hashing).
discovery_beside "discovery during a guessing flood" guess.lua 16 guess.txt 16
printf '%-36s %s, i.e. 401 and 429)\n' "guessing flood on /login" "$(rate guess.txt)"

# A password flood with account locks and address throttling off, so every guess reaches
# argon2: resident memory before, at its peak and a while after, and discovery's p99 during it.
FLOOD=${FLOOD:-20s}
SETTLE=${SETTLE:-30}
stop_server
# The guessing flood above locked the account; a lock stays until it ends or is lifted.
"$BENCH_BIN" user unlock admin >/dev/null
start_server TESSERA_LOCKOUT__THRESHOLD=0 TESSERA_LOCKOUT__IP_THRESHOLD=0
before=$(rss VmRSS)
discovery_beside "discovery during a hashing flood" guess.lua 64 flood.txt 8 "$FLOOD"
peak=$(rss VmHWM)
sleep "$SETTLE"
after=$(rss VmRSS)
printf '%-36s %s); RSS %s MB before, peak %s MB, %s MB %ss after\n' \
  "hashing flood on /login (64 conn)" "$(rate flood.txt)" "$before" "$peak" "$after" "$SETTLE"
