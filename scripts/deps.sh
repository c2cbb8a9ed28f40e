#!/usr/bin/env bash
# scripts/deps.sh [--test|--all]: make sure the Debian packages
# libcxmetrics needs are installed. Missing ones are installed with apt-get
# when running as root; otherwise the command to run is printed and the
# script fails. Without an option: what building and running `cxm` need;
# --test adds what `make check` needs (Dask for the sharded-ingest test,
# Chromium and Node.js for the dashboard test, groff for the man pages);
# --all adds what CI needs besides (the ABI check, Valgrind, coverage,
# libFuzzer).
set -euo pipefail
pkgs=(build-essential g++ autoconf automake libtool pkg-config check doxygen
      python3 python3-numpy python3-pandas)
if [ "${1-}" = --test ] || [ "${1-}" = --all ]; then
  pkgs+=(python3-dask python3-distributed chromium groff-base)
  # The dashboard test drives Chromium from Node.js (playwright-core from npm).
  if ! command -v node >/dev/null 2>&1; then pkgs+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then pkgs+=(npm); fi
fi
if [ "${1-}" = --all ]; then
  pkgs+=(abigail-tools binutils valgrind lcov clang libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != 'install ok installed' ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
