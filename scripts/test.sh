#!/usr/bin/env bash
# The whole test suite, provisioning what it needs. Tests read the reference
# corpus from ../shared/corpus/dicom (or $HILUM_CORPUS) and fail if it is
# missing: nothing is skipped silently. Debian packages the tests need are
# installed when missing (scripts/test-packages.sh).
#
# Two builds, each test run once: every test but the viewer's runs against
# the CLI-only build (`--no-default-features`, as batch nodes build it), so
# that build is proven to work; then the library's unit tests and the
# viewer's UI tests run with the `viewer` feature (default). Arguments are
# passed to both `cargo test` calls (e.g. a test name filter).
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/test-packages.sh
# Orthanc and ip live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
status=0
echo "hilum: tests of the CLI-only build (--no-default-features)" >&2
# The PACS tests start servers (Orthanc, dcmtk) that listen on every
# interface; they run in a private network namespace that holds only
# loopback, built first outside it (cargo may need crates.io).
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
    cargo test --no-run --no-default-features "$@" || status=1
    unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
        cargo test --offline --no-fail-fast --no-default-features "$@" || status=1
else
    echo "hilum: cannot make a private network namespace (needs root and unshare):" \
        "the PACS tests fail unless HILUM_TEST_SHARED_NETWORK=1 accepts servers on every interface" >&2
    cargo test --no-fail-fast --no-default-features "$@" || status=1
fi
echo "hilum: the library's unit tests and the viewer's tests (feature viewer)" >&2
cargo test --no-fail-fast --lib --test viewer "$@" || status=1
exit $status
