#!/usr/bin/env bash
# Build the collection's docsite (antsibull-docs + Sphinx) locally, without docs.ansible.com.
#
#   tools/build-docsite.sh [DEST]        (default DEST: .tmp/docsite; HTML in DEST/build/html)
#
# Uses the project .venv (antsibull-docs, Sphinx; `make setup`). The Ansible Sphinx theme
# (sphinx-ansible-theme, from PyPI) is installed into DEST/theme on first use; if that fails
# the site is built with Sphinx's default theme (alabaster), which is installed.
# intersphinx is switched off (it would download inventories from docs.python.org and
# docs.ansible.com); references that only those inventories resolve (common_return_values,
# ansible_configuration_settings, ansible.builtin plugins) are reported but do not fail the
# build. Every other Sphinx warning fails it. Set INTERSPHINX=1 to keep intersphinx on (online).
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$ROOT/.tmp/docsite}
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
COPY_ROOT=$ROOT/.tmp/ansible-test
export PATH="$VENV/bin:$PATH"

[ -x "$PY" ] || { echo "no $PY: run 'make setup' first" >&2; exit 1; }

# antsibull-docs reads the collection through ANSIBLE_COLLECTIONS_PATH: use the clean copy of
# the files git would commit (as `make docs-lint` does), not the working tree with its debris.
"$PY" "$ROOT/tools/sync_collection_copy.py" "$ROOT" "$COPY_ROOT/ansible_collections/tableau/tsm" >/dev/null
export ANSIBLE_COLLECTIONS_PATH=$COPY_ROOT

rm -rf "$DEST/site"
mkdir -p "$DEST/site"
chmod 700 "$DEST" "$DEST/site"   # antsibull-docs wants directories only writable by the owner
SITE=$DEST/site

# Theme: sphinx-ansible-theme into DEST/theme (kept between runs), else alabaster.
THEME=alabaster
if PYTHONPATH="$DEST/theme" "$PY" -c 'import sphinx_ansible_theme' 2>/dev/null \
   || "$PY" -m pip install -q --disable-pip-version-check --target "$DEST/theme" \
        sphinx-ansible-theme sphinx_rtd_theme sphinxcontrib-jquery --no-deps >/dev/null 2>&1; then
    THEME=sphinx_ansible_theme
else
    echo "NOTE: sphinx-ansible-theme not available: building with alabaster" >&2
fi
export PYTHONPATH="$DEST/theme${PYTHONPATH:+:$PYTHONPATH}"

echo "==> antsibull-docs sphinx-init ($SITE)"
antsibull-docs sphinx-init --use-current --dest-dir "$SITE" tableau.tsm >/dev/null
if [ "$THEME" != sphinx_ansible_theme ]; then
    sed -i "s/^html_theme = .*/html_theme = 'alabaster'/" "$SITE/conf.py"
fi
if [ "${INTERSPHINX:-0}" != 1 ]; then
    printf '\n# tools/build-docsite.sh: offline build\nintersphinx_mapping = {}\n' >>"$SITE/conf.py"
fi

echo "==> antsibull-docs collection"
mkdir -p "$SITE/rst" && chmod og-w "$SITE/rst"
(cd "$SITE" && antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
    --use-current --dest-dir rst tableau.tsm)

echo "==> sphinx-build"
WARN=$SITE/sphinx-warnings.log
rc=0
(cd "$SITE" && sphinx-build -M html rst build -c . -q --keep-going -w "$WARN" 2>"$SITE/sphinx-stderr.log") || rc=$?
EXTERNAL="undefined label: '(common_return_values|ansible_configuration_settings|ansible_collections\.ansible\.builtin\.[a-z_]+)'"
external=$(grep -cE "$EXTERNAL" "$WARN" || true)
problems=$(grep -E 'WARNING|ERROR' "$WARN" | grep -vE "$EXTERNAL" || true)
if [ -n "$problems" ]; then
    echo "$problems" >&2
    echo "docsite: $(echo "$problems" | wc -l) Sphinx problem(s) (see $WARN)" >&2
    exit 1
fi
if [ "$rc" != 0 ] && [ ! -f "$SITE/build/html/index.html" ]; then
    echo "sphinx-build failed (rc $rc)" >&2
    exit "$rc"
fi
echo "docsite built: $SITE/build/html/index.html (theme $THEME; $external reference(s) left to docs.ansible.com unresolved offline)"
