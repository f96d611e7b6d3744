#!/usr/bin/env bash
# HTTP benchmark of the data planes against the anchors of ../shared/bench/,
# measured side by side in the same run (closed loop, wrk -t2 -c64, loopback,
# 2 cores shared with the load generator). Prints requests/s and ratios.
#
#   bench/http.sh            # nginx anchor + keyrotor (api-key, Cosmos, SharedKey), recording on/off
#   AZURITE=1 bench/http.sh  # also Azurite's SharedKey-verified GET (npm install azurite)
#
# keyrotor runs with --no-tls so that both sides speak plain HTTP, as the anchor does.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
DUR="${DUR:-5s}"
CONN="${CONN:-64}"

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk
cargo build --release -q -p keyrotor --bin keyrotor --example hyper_anchor
BIN="$PWD/target/release/keyrotor"
HYPER_BIN="$PWD/target/release/examples/hyper_anchor"

TMP=$(mktemp -d)
cleanup() {
  [ -f "$TMP/nginx/nginx.pid" ] && kill "$(cat "$TMP/nginx/nginx.pid")" 2>/dev/null || true
  [ -n "${KR_PID:-}" ] && kill "$KR_PID" 2>/dev/null || true
  [ -n "${AZ_PID:-}" ] && kill "$AZ_PID" 2>/dev/null || true
  [ -n "${HY_PID:-}" ] && kill "$HY_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# --- anchor: nginx map on api-key ------------------------------------------
mkdir -p "$TMP/nginx/logs"
cp "$SHARED/bench/nginx-apikey.conf" "$TMP/nginx/nginx.conf"
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx/"
# Second anchor: a minimal hyper server (examples/hyper_anchor.rs) with
# keyrotor's runtime layout: the part of the distance to nginx that is
# hyper and tokio themselves.
"$HYPER_BIN" 127.0.0.1:18070 &
HY_PID=$!
sleep 0.3

# --- keyrotor ----------------------------------------------------------------
start_keyrotor() {
  "$BIN" serve --data-dir "$TMP/kr" --listen 127.0.0.1:18090 --no-tls "$@" >"$TMP/kr.log" 2>&1 &
  KR_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18090/ && break; sleep 0.05; done
}
stop_keyrotor() { kill "$KR_PID"; wait "$KR_PID" 2>/dev/null || true; KR_PID=; }
start_keyrotor
export KEYROTOR_BOOTSTRAP="$TMP/kr/bootstrap.json"
# shellcheck source=bench/accounts.sh
source bench/accounts.sh
create_bench_accounts

# Signed headers (valid 15 minutes: long enough for the run).
read -r COSMOS_AUTH COSMOS_DATE BATCH_AUTH BATCH_DATE BATCH_POOLS_AUTH < <(python3 - "$COSMOS_KEY" "$BATCH_KEY" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
from email.utils import formatdate
ck, bk = sys.argv[1], sys.argv[2]
d = formatdate(usegmt=True)
sts = f"get\n\n\n{d.lower()}\n\n"
sig = base64.b64encode(hmac.new(base64.b64decode(ck), sts.encode(), hashlib.sha256).digest()).decode()
ca = urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="-_.!~*'()")
def batch_sig(path):
    sts = f"GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:{d}\n/benchbatch/batch/benchbatch/{path}\napi-version:2025-06-01"
    return "SharedKey_benchbatch:" + base64.b64encode(hmac.new(base64.b64decode(bk), sts.encode(), hashlib.sha256).digest()).decode()
print(ca, d.replace(" ", "_"), batch_sig("certificates"), d.replace(" ", "_"), batch_sig("pools"))
PY
)
COSMOS_DATE=${COSMOS_DATE//_/ }
BATCH_DATE=${BATCH_DATE//_/ }
BATCH_AUTH=${BATCH_AUTH//_/ }
BATCH_POOLS_AUTH=${BATCH_POOLS_AUTH//_/ }

# A data-plane token (issue 4): the bootstrap administrator with a Cosmos
# data role on the group, its token for the Cosmos audience from keyrotor's
# token endpoint, sent as `type=aad&ver=1.0&sig=<jwt>`.
ADMIN_ID=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['clientId'])" "$KEYROTOR_BOOTSTRAP")
"$BIN" role assignment create --assignee "$ADMIN_ID" --role "Cosmos DB Built-in Data Reader" -g bench -o none
AAD_AUTH=$(python3 - "$KEYROTOR_BOOTSTRAP" <<'PY'
import json, sys, urllib.parse, urllib.request
b = json.load(open(sys.argv[1]))
data = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": b["clientId"], "client_secret": b["clientSecret"], "scope": "https://cosmos.azure.com/.default"}).encode()
tok = json.load(urllib.request.urlopen(f"http://127.0.0.1:18090/{b['tenantId']}/oauth2/v2.0/token", data))["access_token"]
print(urllib.parse.quote(f"type=aad&ver=1.0&sig={tok}", safe=""))
PY
)

# Sanity: each request authenticates (404: AI without upstream; 200: Cosmos account read; 501: Batch
# certificates, which keyrotor does not implement; 200: Batch pools, a served list read from the store).
check() { local want=$1; shift; local got; got=$(curl -s -o /dev/null -w '%{http_code}' "$@"); [ "$got" = "$want" ] || { echo "sanity check failed ($got != $want): $*" >&2; cat "$TMP/kr.log" >&2; exit 1; }; }
check 204 -H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18080/
check 204 -H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18070/
check 404 -H "api-key: $AI_KEY" http://127.0.0.1:18090/ai/bench-ai/x
check 401 -H "api-key: 00000000000000000000000000000000" http://127.0.0.1:18090/ai/bench-ai/x
check 200 -H "authorization: $COSMOS_AUTH" -H "x-ms-date: $COSMOS_DATE" http://127.0.0.1:18090/cosmos/bench-cosmos/
check 200 -H "authorization: $AAD_AUTH" -H "x-ms-date: $COSMOS_DATE" http://127.0.0.1:18090/cosmos/bench-cosmos/
check 501 -H "authorization: $BATCH_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/certificates?api-version=2025-06-01"
check 200 -H "authorization: $BATCH_POOLS_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/pools?api-version=2025-06-01"

rate() { wrk -t2 -c"$CONN" -d"$DUR" --latency "$@" 2>/dev/null | awk '/Requests\/sec/{print $2}'; }
p99() { wrk -t2 -c"$CONN" -d"$DUR" --latency "$@" 2>/dev/null | awk '$1=="99%"{print $2}'; }

# Closed loop in rounds. This machine's capacity drifts by 15 % and more
# within minutes, so each round measures everything once between two nginx
# runs, and every ratio divides by the mean of the nginx runs around it (the
# AAD path by the master-key path of the same round). The median round
# counts; the range shows the noise.
ROUNDS="${ROUNDS:-3}"
NGINX_REQ=(-H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18080/)
HYPER_REQ=(-H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18070/)
AI_REQ=(-H "api-key: $AI_KEY" http://127.0.0.1:18090/ai/bench-ai/x)
COSMOS_REQ=(-H "authorization: $COSMOS_AUTH" -H "x-ms-date: $COSMOS_DATE" http://127.0.0.1:18090/cosmos/bench-cosmos/)
AAD_REQ=(-H "authorization: $AAD_AUTH" -H "x-ms-date: $COSMOS_DATE" http://127.0.0.1:18090/cosmos/bench-cosmos/)
BATCH_REQ=(-H "authorization: $BATCH_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/certificates?api-version=2025-06-01")
POOLS_REQ=(-H "authorization: $BATCH_POOLS_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/pools?api-version=2025-06-01")
echo "wrk -t2 -c$CONN -d$DUR, plain HTTP on loopback, $ROUNDS rounds"
ROWS=""
for _ in $(seq "$ROUNDS"); do
  n1=$(rate "${NGINX_REQ[@]}"); hy=$(rate "${HYPER_REQ[@]}"); ai=$(rate "${AI_REQ[@]}")
  co=$(rate "${COSMOS_REQ[@]}"); aad=$(rate "${AAD_REQ[@]}"); ba=$(rate "${BATCH_REQ[@]}")
  po=$(rate "${POOLS_REQ[@]}")
  n2=$(rate "${NGINX_REQ[@]}")
  ROWS="$ROWS$n1 $n2 $hy $ai $co $aad $ba $po;"
done
BATCH=$(echo "$ROWS" | tr ';' '\n' | awk 'NF{print $7}' | sort -n | tail -1)
python3 - "$ROWS" <<'PY'
import statistics, sys
rows = [list(map(float, r.split())) for r in sys.argv[1].split(";") if r.strip()]
def show(label, values, target):
    med = statistics.median(values)
    print(f"{label:<46} {med:5.2f}x  (rounds {min(values):.2f}-{max(values):.2f}){target}")
for r in rows:
    print("round: nginx %.0f/%.0f, hyper %.0f, api-key %.0f, Cosmos %.0f, AAD %.0f, SharedKey 501 %.0f, SharedKey pools %.0f req/s" % tuple(r))
ng = [(r[0] + r[1]) / 2 for r in rows]
show("minimal hyper api-key / nginx", [r[2] / n for r, n in zip(rows, ng)], "  (../shared/bench: 1.04x)")
show("keyrotor api-key (auth + usage + 404) / nginx", [r[3] / n for r, n in zip(rows, ng)], "  target >= 0.95")
show("keyrotor Cosmos master key (account read) / nginx", [r[4] / n for r, n in zip(rows, ng)], "  target >= 0.85")
show("keyrotor Batch SharedKey (auth + 501) / nginx", [r[6] / n for r, n in zip(rows, ng)], "  target >= 0.85")
show("keyrotor Batch SharedKey (auth + list pools) / nginx", [r[7] / n for r, n in zip(rows, ng)], "  (served from the store)")
show("keyrotor Cosmos AAD token + role / master key", [r[5] / r[4] for r in rows], "  target >= 0.85")
PY
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "keyrotor api-key p99 at c=$CONN: $(p99 -H "api-key: $AI_KEY" http://127.0.0.1:18090/ai/bench-ai/x); nginx p99: $(p99 -H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18080/)"

# Open loop at 20k req/s with latency correction (oha: `cargo install oha --locked`).
OHA="${OHA:-$(command -v oha || true)}"
if [ -n "$OHA" ]; then
  olp99() { "$OHA" -z "$DUR" -q 20000 --latency-correction --no-tui --output-format json "$@" 2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['latencyPercentiles']['p99']*1000:.2f} ms\")"; }
  echo "open loop 20k req/s p99 (target <= 1 ms): nginx $(olp99 -H "api-key: 0123456789abcdef0123456789abcdef" http://127.0.0.1:18080/), keyrotor api-key $(olp99 -H "api-key: $AI_KEY" http://127.0.0.1:18090/ai/bench-ai/x), keyrotor SharedKey $(olp99 -H "authorization: $BATCH_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/certificates?api-version=2025-06-01")"
else
  echo "open-loop p99: skipped (oha not installed; cargo install oha --locked)"
fi

if [ "${AZURITE:-0}" = 1 ]; then
  (cd "$TMP" && npm install --silent azurite >/dev/null 2>&1) || { echo "Azurite: npm install failed; skipped"; exit 0; }
  (cd "$TMP" && npx azurite-blob --blobHost 127.0.0.1 --blobPort 10000 --inMemoryPersistence --loose --skipApiVersionCheck --silent --disableTelemetry >/dev/null 2>&1 &)
  sleep 3
  AZ_AUTH=$(python3 - <<'PY'
import base64, hashlib, hmac
from email.utils import formatdate
key = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
d = formatdate(usegmt=True)
sts = f"GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{d}\nx-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/\ncomp:list"
print(d + "|" + base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest()).decode())
PY
)
  AZ_DATE=${AZ_AUTH%%|*}; AZ_SIG=${AZ_AUTH#*|}
  H=(-H "x-ms-date: $AZ_DATE" -H "x-ms-version: 2021-08-06" -H "Authorization: SharedKey devstoreaccount1:$AZ_SIG")
  code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" "http://127.0.0.1:10000/devstoreaccount1/?comp=list")
  if [ "$code" = 200 ]; then
    AZ=$(rate "${H[@]}" "http://127.0.0.1:10000/devstoreaccount1/?comp=list")
    printf '%-44s %10s req/s  keyrotor SharedKey = %sx Azurite (expected well above 20x)\n' "Azurite SharedKey-verified GET" "$AZ" "$(ratio "$BATCH" "$AZ")"
  else
    echo "Azurite: signed request answered $code; anchor skipped"
  fi
  pkill -f azurite-blob || true
fi

# Usage recording on vs off (same build; KEYROTOR_RECORD_USAGE=0 switches it off),
# alternated three times and the best of each kept, since the machine is noisy.
best() { python3 -c "import sys; print(max(map(float, sys.argv[1:])))" "$@"; }
BREQ=(-H "authorization: $BATCH_AUTH" -H "ocp-date: $BATCH_DATE" "http://127.0.0.1:18090/batch/benchbatch/certificates?api-version=2025-06-01")
ONS=(); OFFS=()
for _ in 1 2 3; do
  stop_keyrotor; start_keyrotor
  ONS+=("$(rate "${BREQ[@]}")")
  stop_keyrotor; KEYROTOR_RECORD_USAGE=0 start_keyrotor
  OFFS+=("$(rate "${BREQ[@]}")")
done
ON=$(best "${ONS[@]}"); OFF=$(best "${OFFS[@]}")
printf 'usage recording: on %s req/s, off %s req/s (best of 3 each) => costs %s %% (target < 5 %%)\n' "$ON" "$OFF" "$(python3 -c "print(f'{(1-$ON/$OFF)*100:.1f}')")"
