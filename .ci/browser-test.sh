#!/usr/bin/env bash
# Headless-browser test of `lambdasim serve`: installs Chromium and its WebDriver from the
# distribution's packages when missing (as root), starts the server and the driver on loopback
# ports, runs .ci/browser_test.py, and stops both. Screenshot: target/browser-test.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
    || ! command -v python3 >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "browser test: needs chromium, chromium-driver and python3 (or root to install them)" >&2
        exit 1
    fi
    apt-get update
    apt-get -o DPkg::Lock::Timeout=300 install -y chromium chromium-driver python3
fi
cargo build --release
BIN=$PWD/target/release/lambdasim
WORK=$(mktemp -d)
SERVER=""
DRIVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    [ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve scenarios/spiky-api.toml --port 0 >"$WORK/serve.out" 2>&1 &
SERVER=$!
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chromedriver --port="$PORT" >"$WORK/driver.log" 2>&1 &
DRIVER=$!
for _ in $(seq 100); do
    URL=$(grep -o 'http://[^ ]*' "$WORK/serve.out" || true)
    if [ -n "$URL" ] && curl -s "http://127.0.0.1:$PORT/status" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
[ -n "$URL" ] || { echo "browser test: lambdasim serve did not start" >&2; cat "$WORK/serve.out" >&2; exit 1; }
python3 .ci/browser_test.py "$URL" "http://127.0.0.1:$PORT" "$BIN" scenarios/spiky-api.toml \
    "$WORK" target/browser-test.png
