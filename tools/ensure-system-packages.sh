#!/usr/bin/env bash
# Install the Debian packages that `make test` / `make demo` need, only when missing.
# A no-op (no apt-get update) when everything is present; skipped when not root.
set -euo pipefail

missing=()
have_pg_bin() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_pg_bin || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v git >/dev/null 2>&1 || missing+=(git)
# (ShellCheck is installed so that the ansible-test sanity test of that name really runs.)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "NOTE: missing Debian packages (${missing[*]}), not root: skipping apt-get." >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "NOTE: missing packages (${missing[*]}) and no apt-get: install them yourself." >&2
    exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
