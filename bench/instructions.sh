#!/usr/bin/env bash
# User-space instructions per request of the server under callgrind: a
# deterministic measure (the same count whatever else the machine does), for
# the requests bench/http.sh times, next to the minimal hyper server
# (examples/hyper_anchor.rs). Start-up is subtracted by serving 1,000 and
# 6,000 requests on one keep-alive connection and dividing the difference.
#
#   bench/instructions.sh        # needs valgrind (apt-get install valgrind)
#   KEEP=/tmp/cg bench/instructions.sh cosmos   # keep the callgrind files for
#                                               # callgrind_annotate; one target only
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
cargo build --release -q -p keyrotor --bin keyrotor --example hyper_anchor
BIN="$PWD/target/release/keyrotor"
HYPER_BIN="$PWD/target/release/examples/hyper_anchor"
TMP=$(mktemp -d)
trap 'kill "${P:-}" 2>/dev/null || true; rm -rf "$TMP"' EXIT
PORT=18095

wait_up() { for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && return; sleep 0.1; done; echo "server did not start" >&2; exit 1; }

# Accounts and their keys, made by a normal run.
"$BIN" serve --data-dir "$TMP/kr" --listen "127.0.0.1:$PORT" --no-tls >"$TMP/kr.log" 2>&1 &
P=$!; wait_up
export KEYROTOR_BOOTSTRAP="$TMP/kr/bootstrap.json"
# shellcheck source=bench/accounts.sh
source bench/accounts.sh
create_bench_accounts
kill "$P"; wait "$P" 2>/dev/null || true; P=

# Sends N identical requests on one connection; checks every status.
cat >"$TMP/client.py" <<'PY'
import base64, hashlib, hmac, http.client, sys, urllib.parse
from email.utils import formatdate
port, n, which, ai, ck, bk = sys.argv[1], int(sys.argv[2]), sys.argv[3], *sys.argv[4:7]
d = formatdate(usegmt=True)
if which == "hyper":
    path, headers, want = "/", {"api-key": "0123456789abcdef0123456789abcdef"}, 204
elif which == "api-key":
    path, headers, want = "/ai/bench-ai/x", {"api-key": ai}, 404
elif which == "cosmos":
    sig = base64.b64encode(hmac.new(base64.b64decode(ck), f"get\n\n\n{d.lower()}\n\n".encode(), hashlib.sha256).digest()).decode()
    auth = urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="-_.!~*'()")
    path, headers, want = "/cosmos/bench-cosmos/", {"authorization": auth, "x-ms-date": d}, 200
else:
    # batch: an operation keyrotor does not implement (501); batch-pools: a
    # served list read from the store (200).
    res, want = ("pools", 200) if which == "batch-pools" else ("certificates", 501)
    sts = f"GET\n\n\n\n\n\n\n\n\n\n\n\nocp-date:{d}\n/benchbatch/batch/benchbatch/{res}\napi-version:2025-06-01"
    sig = base64.b64encode(hmac.new(base64.b64decode(bk), sts.encode(), hashlib.sha256).digest()).decode()
    path, headers = f"/batch/benchbatch/{res}?api-version=2025-06-01", {"authorization": f"SharedKey benchbatch:{sig}", "ocp-date": d}
c = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(n):
    c.request("GET", path, headers=headers)
    r = c.getresponse(); r.read()
    if r.status != want:
        sys.exit(f"{which}: status {r.status}, expected {want}")
PY

total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}'; }
measure() {
  local which=$1 n out
  for n in 1000 6000; do
    out="$TMP/cg.$which.$n"
    if [ "$which" = hyper ]; then
      valgrind --tool=callgrind --callgrind-out-file="$out" "$HYPER_BIN" "127.0.0.1:$PORT" >/dev/null 2>&1 &
    else
      valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" serve --data-dir "$TMP/kr" --listen "127.0.0.1:$PORT" --no-tls >/dev/null 2>&1 &
    fi
    P=$!; wait_up
    python3 "$TMP/client.py" "$PORT" "$n" "$which" "$AI_KEY" "$COSMOS_KEY" "$BATCH_KEY"
    kill -TERM "$P"; wait "$P" 2>/dev/null || true; P=
  done
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$TMP"/cg."$which".* "$KEEP"/; fi
  python3 -c "import sys; print(f'{sys.argv[1]:<28} {(int(sys.argv[3]) - int(sys.argv[2])) / 5000:>8.0f} instructions per request')" \
    "$which" "$(total "$TMP/cg.$which.1000")" "$(total "$TMP/cg.$which.6000")"
}
echo "user-space instructions per request (callgrind; SHA-256 runs ring's AVX code under valgrind)"
[ $# -gt 0 ] || set -- hyper api-key cosmos batch batch-pools
for which in "$@"; do measure "$which"; done
