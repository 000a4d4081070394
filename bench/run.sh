#!/usr/bin/env bash
# Tessera load benchmark: starts a release build on a scratch SQLite database (or the
# database in BENCH_DATABASE_URL), signs a user in once, then drives the hot paths with wrk:
# discovery, JWKS, client_credentials tokens, introspection, userinfo, and the whole code
# flow with a live session (authorize -> code -> token -> userinfo).
#
#   bench/run.sh                      # 10 s per scenario, 2 threads, 32 connections
#   DURATION=30s CONNECTIONS=64 FLOWS=16 bench/run.sh
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/run.sh
#
# Needs wrk (apt-get install wrk), curl, openssl and python3. Prints one line per scenario.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
FLOWS=${FLOWS:-8}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
if [ -z "${TESSERA_BIN:-}" ]; then
  (cd "$root" && cargo build --release --quiet)
  TESSERA_BIN="$root/target/release/tessera"
fi

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export TESSERA_ISSUER="$BASE" TESSERA_LISTEN="127.0.0.1:$PORT" TESSERA_KEYS_DIR="$work/keys"
export TESSERA_DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$work/bench.db}"
export TESSERA_ADMIN_PASSWORD="bench admin password" TESSERA_LOG=warn

client=$("$TESSERA_BIN" client add --name Bench --client-id bench --redirect-uri http://127.0.0.1:9/cb \
  --grant-types authorization_code,refresh_token,client_credentials --skip-consent --role user --json)
secret=$(printf '%s' "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
basic=$(printf 'bench:%s' "$secret" | base64 -w0)

"$TESSERA_BIN" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# One signed-in browser session for the code flow.
jar="$work/cookies"
csrf=$(curl -fs -c "$jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
curl -fs -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "username=admin" --data-urlencode "password=bench admin password" "$BASE/login"
session=$(awk '$6=="tessera_session"{print $7}' "$jar")
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

run() {
  local name=$1 script=$2 path=$3 per_op=${4:-1} threads=${5:-$THREADS} connections=${6:-$CONNECTIONS}
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$DURATION" --latency ${script:+-s "$here/$script"} "$BASE$path")
  local rps p50 p99 errors
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/{print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')
  errors=$(printf '%s\n' "$out" | awk '/Non-2xx or 3xx/{print $NF}')
  printf '%-34s %10.0f req/s  %8.0f op/s  p50 %-8s p99 %-8s non-2xx/3xx %s\n' \
    "$name" "$rps" "$(awk -v r="$rps" -v n="$per_op" 'BEGIN{print r/n}')" "$p50" "$p99" "${errors:-0}"
}

echo "Tessera benchmark: $THREADS threads, $CONNECTIONS connections, $DURATION per scenario, $(nproc) cores"
echo "database: ${TESSERA_DATABASE_URL%%:*}"
run "discovery"                  ""                 /.well-known/openid-configuration
run "jwks"                       ""                 /jwks
run "token (client_credentials)" client_credentials.lua /token
run "introspection"              introspect.lua     /introspect
run "userinfo"                   userinfo.lua       /userinfo
# wrk shares one script state per thread, so each flow gets a thread with one connection.
run "code flow (3 requests/op)"  code_flow.lua      /authorize 3 "$FLOWS" "$FLOWS"

# Discovery while a script guesses passwords on /login with 16 connections (account lock and
# address throttling as shipped: most guesses are answered 429 before any hashing).
guess_jar="$work/guess-cookies"
guess_csrf=$(curl -fs -c "$guess_jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
export BENCH_CSRF_TOKEN="$guess_csrf" BENCH_CSRF_COOKIE=$(awk '$6=="tessera_csrf"{print $7}' "$guess_jar")
wrk -t1 -c16 -d"$DURATION" --latency -s "$here/guess.lua" "$BASE/login" >"$work/guess.txt" &
guesses=$!
run "discovery during a guessing flood" "" /.well-known/openid-configuration 1 1 16
wait "$guesses"
printf '%-34s %10.0f req/s  (answers other than 2xx/3xx: %s, i.e. 401 and 429)\n' "guessing flood on /login" \
  "$(awk '/Requests\/sec/{print $2}' "$work/guess.txt")" "$(awk '/Non-2xx or 3xx/{print $NF}' "$work/guess.txt")"

# A password flood with account locks and address throttling off, so every guess reaches
# argon2: resident memory before, at its peak and a while after, and discovery's p99 during it.
FLOOD=${FLOOD:-20s}
SETTLE=${SETTLE:-30}
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
TESSERA_LOCKOUT__THRESHOLD=0 TESSERA_LOCKOUT__IP_THRESHOLD=0 "$TESSERA_BIN" serve >>"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk -v k="$1" '$1==k":"{print int($2/1024)}' "/proc/$server/status"; }
guess_csrf=$(curl -fs -c "$guess_jar" "$BASE/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n1)
export BENCH_CSRF_TOKEN="$guess_csrf" BENCH_CSRF_COOKIE=$(awk '$6=="tessera_csrf"{print $7}' "$guess_jar")
before=$(rss VmRSS)
wrk -t1 -c64 -d"$FLOOD" --latency -s "$here/guess.lua" "$BASE/login" >"$work/flood.txt" &
flood=$!
DURATION=$FLOOD run "discovery during a hashing flood" "" /.well-known/openid-configuration 1 1 8
wait "$flood"
peak=$(rss VmHWM)
sleep "$SETTLE"
after=$(rss VmRSS)
printf '%-34s %10.0f req/s  RSS %s MB before, peak %s MB, %s MB %ss after (non-2xx/3xx: %s)\n' \
  "hashing flood on /login (64 conn)" "$(awk '/Requests\/sec/{print $2}' "$work/flood.txt")" \
  "$before" "$peak" "$after" "$SETTLE" "$(awk '/Non-2xx or 3xx/{print $NF}' "$work/flood.txt")"

