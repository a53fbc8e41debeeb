#!/usr/bin/env bash
# Starts the whole platform on this machine and shows it working: installs
# what is missing, builds, starts redis-server, the Kafka-protocol broker and
# every service as its own process, then runs the demo (tools/demo.py).
# Pass --exit to stop after the demo instead of running until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
exec /usr/bin/python3 "$root/tools/demo.py" --run-dir "$root/.run/$(date +%Y%m%d-%H%M%S)" "$@"
