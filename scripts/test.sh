#!/usr/bin/env bash
# Install everything the tests need (Debian packages, npm azurite, Python extras) and run the
# whole suite. This is the README's test command and exactly what .ci/run calls.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"

bash scripts/install-test-deps.sh
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[all,test]'
exec "$PYTHON" -m pytest -q -p no:cacheprovider "$@"
