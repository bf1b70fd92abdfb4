#!/bin/sh
# Install the Debian packages ein needs, and only those that are missing.
# Idempotent and silent when everything is present; a clear message and a
# non-zero exit when something is missing and cannot be installed.
#
#   install-deps.sh          what `make`, `make check` and `make demo` need
#   install-deps.sh --fuzz   what `make fuzz` needs (clang's libFuzzer, AFL++)
#   install-deps.sh --torch  what `make bench-torch` needs (Debian's PyTorch)
#   install-deps.sh --slurm  what `make check-slurm` needs (a real Slurm and munge)
set -u

PACKAGES="flex bison libopenblas-dev check zlib1g-dev libreadline-dev pkg-config dataset-fashion-mnist gnuplot-nox tmux"
FUZZ_PACKAGES="clang libclang-rt-14-dev afl++"
case "${1:-}" in
    --fuzz) PACKAGES=$FUZZ_PACKAGES ;;
    --torch) PACKAGES="python3-torch" ;;
    --slurm) PACKAGES="slurm-wlm munge" ;;
    "") ;;
    *) echo "usage: install-deps.sh [--fuzz | --torch | --slurm]" >&2; exit 64 ;;
esac

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: this is not a Debian system (no apt-get); install them by hand." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run as root:  apt-get install$missing" >&2
    exit 1
fi

echo "install-deps: installing$missing"
log=$(mktemp)
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 ||
   ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "install-deps: could not install:$missing (see apt output above)" >&2
    exit 1
fi
rm -f "$log"
exit 0
