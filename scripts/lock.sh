#!/usr/bin/env bash
# Refresh requirements/test.lock, the exact versions scripts/test.sh installs (Python 3.11,
# Linux x86_64). Run it after changing a range in pyproject.toml; the current lock is kept as the
# preference, so only what the change needs moves. Arguments go to `uv pip compile`:
#   bash scripts/lock.sh                          # re-solve after editing pyproject.toml
#   bash scripts/lock.sh --upgrade-package typer  # move one package to its newest allowed version
#   bash scripts/lock.sh --upgrade                # move everything (then run the whole suite)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
UV_VERSION="$(sed -n 's/^uv==//p' requirements/test.lock)"  # the lock pins the uv that reads it

if ! "$PYTHON" -m uv --version 2>/dev/null | grep -q "^uv $UV_VERSION\b"; then
    echo "lock: pip install uv==$UV_VERSION" >&2
    "$PYTHON" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
echo "lock: uv pip compile pyproject.toml [all,test] -> requirements/test.lock" >&2
"$PYTHON" -m uv pip compile pyproject.toml --extra all --extra test \
    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --custom-compile-command "bash scripts/lock.sh" \
    --quiet --output-file requirements/test.lock "$@"
