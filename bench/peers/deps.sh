#!/usr/bin/env bash
# bench/peers/deps.sh installs what the benchmark peers need beyond `make deps`
# (mosquitto): Node.js 20 or later with npm for aedes, aedes' node_modules
# (npm ci from the committed package-lock.json), and the Go modules of the
# nats and mochi peers. Idempotent: it installs only what is missing and
# prints nothing when everything is there. Run it as root (apt-get).
set -euo pipefail
cd "$(dirname "$0")"

say() { echo "bench/peers/deps.sh: $*"; }

# Node.js: aedes 1.x needs 20 or later. Debian's package is older on
# bookworm, so an existing newer node is kept and Debian's is only a
# fallback; with an older node aedes is left out of the runs (the harness
# says so) rather than broken.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	say "installing nodejs and npm"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ "$(node_major)" -lt 20 ]; then
	say "node $(node --version) is older than 20: aedes will be skipped"
else
	# node_modules matches the lock file when the stamp npm ci left says so.
	stamp=aedes/node_modules/.package-lock.sha256
	want=$(sha256sum aedes/package-lock.json | cut -d' ' -f1)
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
		say "installing aedes (npm ci)"
		(cd aedes && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
		echo "$want" >"$stamp"
	fi
fi

# The Go peers build from their own modules; fetch them once so that a
# benchmark run does not wait on the module proxy.
for m in nats mochi; do
	(cd "$m" && go mod download)
done
