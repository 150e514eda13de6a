#!/usr/bin/env bash
# The console in a real headless Chromium. Starts `nimbus serve --ephemeral` on a free port,
# deploys and drives a small application (seed.py, boto3) and the image pipeline
# (examples/image-pipeline with `nimbus deploy`, which needs PyPI for Pillow; pipeline.py
# uploads its samples), then runs console.test.mjs
# (node:test + playwright-core against Debian's /usr/bin/chromium). Screenshots of each tab at
# 1280x800 land in tests/console/screenshots/ (or $SCREENSHOTS).
#
#   cargo build -p server && tests/console/run.sh          # NIMBUS_BIN overrides the binary
#
# Installs what it needs: chromium (apt, when missing) and playwright-core (npm, pinned).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${NIMBUS_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/nimbus}
[ -x "$bin" ] || { echo "no nimbus binary at $bin: cargo build -p server first" >&2; exit 1; }
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
python3 -c 'import boto3' 2>/dev/null || python3 -m pip install -q boto3
(cd "$here" && npm install --no-audit --no-fund --silent)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
"$bin" serve --ephemeral --port "$port" >"$work/stdout" 2>"$work/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  grep -q '^Ready\.$' "$work/stdout" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
grep -q '^Ready\.$' "$work/stdout" || { echo "nimbus did not start" >&2; exit 1; }

python3 "$here/seed.py" "http://127.0.0.1:$port"
(cd "$root/examples/image-pipeline" &&
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$bin" deploy --stack-name images --endpoint "http://127.0.0.1:$port")
python3 "$here/pipeline.py" "http://127.0.0.1:$port" "$root/examples/image-pipeline/samples"
cd "$here" && NIMBUS_URL="http://127.0.0.1:$port" node --test console.test.mjs
