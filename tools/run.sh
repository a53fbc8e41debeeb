#!/usr/bin/env bash
# Starts the whole platform on this machine and shows it working: installs
# what is missing, builds, starts redis-server, the Kafka-protocol broker and
# every service as its own process, then (tools/demo.py):
#   (no flag)  a live predictive campaign with simulated agents, shown every
#              few seconds until Ctrl-C; its data stays in .run/platform and
#              the next start resumes it
#   --exit     the scripted tour of every service, then stop (CI runs this;
#              a fresh run directory each time)
#   --tour     the scripted tour, then keep running until Ctrl-C
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh"
run_dir="$root/.run/platform"
for arg in "$@"; do
  case "$arg" in --exit|--tour) run_dir="$root/.run/$(date +%Y%m%d-%H%M%S)" ;; esac
done
exec /usr/bin/python3 "$root/tools/demo.py" --run-dir "$run_dir" "$@"
