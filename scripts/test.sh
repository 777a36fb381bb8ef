#!/usr/bin/env bash
# The README's test command and exactly what .ci/run calls: install everything the tests need
# (Debian packages as root, npm azurite into .cache/npm, uv, and this checkout editable with its
# [all,test] extras into $PYTHON at the versions in requirements/test.lock), then run the whole
# suite. PYTHON (default python3) is the interpreter whose environment receives the packages; give
# a venv's python to keep them out of the system one. Then ruff and mypy (a warning fails the run),
# then pytest. Each step says what it does on stderr. TEST_SH_INSTALL_ONLY=1 stops after the
# installs. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHON="${PYTHON:-python3}"
LOCK=requirements/test.lock

say() { echo "test.sh: $*" >&2; }

say "system packages, azurite and uv (scripts/install-test-deps.sh)"
bash scripts/install-test-deps.sh
say "uv pip install -e '.[all,test]' into $("$PYTHON" -c 'import sys; print(sys.prefix)') (versions from $LOCK)"
# The lock goes in as requirements, not only constraints: with every version exact uv never walks
# back through releases (as a constraint, moto[server] is still tried newest first).
"$PYTHON" -m uv pip install --quiet --python "$PYTHON" -r "$LOCK" -e '.[all,test]'
if [[ "${TEST_SH_INSTALL_ONLY:-}" == 1 ]]; then
    say "installed (TEST_SH_INSTALL_ONLY=1: not running the tests)"
    exit 0
fi
# Lint and type checks first (configured in pyproject.toml): a new warning fails the run.
say "ruff check genrostore tests benchmarks scripts"
"$PYTHON" -m ruff check --quiet genrostore tests benchmarks scripts || { say "ruff found problems (above)"; exit 1; }
say "mypy genrostore"
"$PYTHON" -m mypy genrostore || { say "mypy found problems (above)"; exit 1; }
# Bytecode: uv installs packages without .pyc files and this machine sets PYTHONDONTWRITEBYTECODE,
# so every `genrostore` a test starts would compile botocore, s3fs, dask... from source again (about
# 3 s per cloud command). The suite lets Python write its caches (__pycache__ is git-ignored).
unset PYTHONDONTWRITEBYTECODE
# The environment's scripts first on PATH: tests start `genrostore` and `rclone` by name, and a venv
# given as PYTHON is not activated (nor are pyenv's shims rehashed after an install).
SCRIPTS="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export PATH="$SCRIPTS:$PATH"
# Both cores (pytest-xdist): each worker starts its own servers once; a module that starts a Dask
# cluster runs whole on one worker (xdist_group, tests/conftest.py). TEST_WORKERS=0 runs serially.
# A worker that dies (a segfault) ends the run at once with the dead test named: xdist 3.8's
# loadgroup scheduler hangs after replacing a crashed worker (pytest-dev/pytest-xdist#1378), which
# would spend CI's whole time limit and print nothing.
WORKERS="${TEST_WORKERS:-2}"
say "pytest -n $WORKERS --dist loadgroup --max-worker-restart 0 $*"
exec "$PYTHON" -m pytest -q -p no:cacheprovider -n "$WORKERS" --dist loadgroup --max-worker-restart 0 --durations=25 "$@"
