#!/usr/bin/env bash
# Installs what Dialgrid needs on Debian 12: the packages in tools/packages.txt
# (apt-get, only when something is missing) and the buf linter (npm, pinned in
# tools/buf/package.json). Idempotent and quiet when everything is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

mapfile -t wanted < <(grep -vE '^\s*(#|$)' "$root/tools/packages.txt")
missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# node/npm may come from outside Debian on some machines; accept those.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# buf (protobuf linter) from the npm registry, pinned by package-lock.json.
if [[ ! -x "$root/tools/buf/node_modules/.bin/buf" ]]; then
  echo "setup: installing buf (npm)"
  (cd "$root/tools/buf" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# Kubernetes schemas for the chart check (npm, pinned by package-lock.json).
# Optional: when the registry cannot be reached the check runs without that
# step and says so (tools/check_chart.py --k8s-validate=auto).
if [[ ! -d "$root/tools/chart/k8s-validate/node_modules/kubernetes-models" ]]; then
  echo "setup: installing the Kubernetes schemas for the chart check (npm)"
  (cd "$root/tools/chart/k8s-validate" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null) ||
    echo "setup: npm could not install tools/chart/k8s-validate; the chart check runs without Kubernetes schemas" >&2
fi
