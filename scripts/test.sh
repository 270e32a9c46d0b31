#!/usr/bin/env bash
# The whole test suite, provisioning what it needs. Tests read the reference
# corpus from ../shared/corpus/dicom (or $HILUM_CORPUS) and fail if it is
# missing: nothing is skipped silently. Debian packages the tests need are
# installed when missing (scripts/test-packages.sh).
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/test-packages.sh
cargo test --no-fail-fast "$@"
