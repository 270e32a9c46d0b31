# Shared set-up for scripts/run.sh and scripts/test.sh (sourced, not run).
#
# - Keeps the cargo target dir outside the clone so rebuilds are incremental.
# - Provides cmake, which the CharLS (JPEG-LS) codec needs to build: the
#   system one if present, else the `cmake` wheel from PyPI in a private venv.
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hilum-target}"
HILUM_VENV="${HILUM_VENV:-$HOME/.cache/hilum-venv}"

if [ -z "${CMAKE:-}" ]; then
    if command -v cmake >/dev/null 2>&1; then
        CMAKE="$(command -v cmake)"
    else
        if [ ! -x "$HILUM_VENV/bin/cmake" ]; then
            echo "hilum: installing cmake (for the JPEG-LS codec) into $HILUM_VENV" >&2
            python3 -m venv "$HILUM_VENV"
            "$HILUM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "cmake>=3.20,<5"
        fi
        CMAKE="$HILUM_VENV/bin/cmake"
    fi
fi
export CMAKE
