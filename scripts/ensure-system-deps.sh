#!/bin/sh
# Install the Debian packages that the XTRUST test suite needs, when missing.
#
# Idempotent: a package whose command is already on PATH is left alone. Never
# starts a service (the tests start their own throw-away servers on loopback).
#
#   redis-server   real Redis for the SDL / RNIB back-end tests (tests/ric)
#
# Without root and without password-less sudo (or without apt-get, or when the
# install fails) it prints a one-line warning and exits 0: the tests that need
# the package skip with a reason. In CI (CI=true) it exits 1 instead, so that a
# missing install step can never hide behind skipped tests.
set -eu

fail() {
    echo "ensure-system-deps: $1" >&2
    if [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
        exit 1
    fi
    exit 0
}

# command-on-PATH  debian-package  what-skips-without-it
DEPS="redis-server redis-server the-Redis-SDL-tests"

missing=""
set -- $DEPS
while [ "$#" -ge 3 ]; do
    cmd=$1 pkg=$2
    shift 3
    if ! command -v "$cmd" >/dev/null 2>&1; then
        missing="$missing $pkg"
    fi
done

[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    fail "no apt-get here; install$missing yourself, or the tests that need it will skip"
fi

# Runs as root. Arguments: the packages. A temporary /usr/sbin/policy-rc.d
# (exit 101, the Debian convention) stops the packages' maintainer scripts
# from starting their services; it is removed again, and an existing policy
# file is left alone. apt/dpkg progress goes to stdout (dropped), errors to
# stderr.
APT_SCRIPT='
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
    printf "#!/bin/sh\nexit 101\n" > "$policy" && chmod 755 "$policy" && created=1
fi
apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
rc=$?
[ -n "$created" ] && rm -f "$policy"
exit $rc
'

# $1: empty (we are root) or "sudo -n".
install() {
    # shellcheck disable=SC2086  # $1 and $missing split on purpose
    $1 sh -c "$APT_SCRIPT" ensure-system-deps $missing >/dev/null
}

if [ "$(id -u)" -eq 0 ]; then
    how=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    how="sudo -n"
else
    fail "cannot install$missing (not root, no password-less sudo); the Redis tests will skip"
fi

if ! install "$how"; then
    fail "installing$missing failed (see apt-get above); the Redis tests will skip"
fi

for pkg in $missing; do
    echo "ensure-system-deps: installed $pkg"
done
