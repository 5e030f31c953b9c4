#!/usr/bin/env bash
# Install what building and testing pg_migrate needs, skipping what is already there.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q ' 0\.18\.0'; then
    echo "==> installing cargo-pgrx 0.18.0 (takes several minutes once)"
    cargo install cargo-pgrx --version 0.18.0 --locked
fi

if ! grep -q '^pg15 *=' "${PGRX_HOME:-$HOME/.pgrx}/config.toml" 2>/dev/null; then
    echo "==> cargo pgrx init --pg15"
    cargo pgrx init --pg15 "$(scripts/pg_config.sh)"
fi
