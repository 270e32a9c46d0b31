# Shared set-up for scripts/run.sh, scripts/test.sh and .ci/run (sourced).
#
# - Keeps the cargo target dir outside the clone so rebuilds are incremental.
# - Provides, in a private Python venv ($HILUM_VENV, default
#   ~/.cache/hilum-venv), what the build and the AI engine need from PyPI:
#   cmake (for the CharLS JPEG-LS codec) when no system cmake exists, and the
#   CPU ONNX Runtime library (`onnxruntime==1.31.1`), which Hilum finds in
#   that venv at run time; for the pixel parity tests, pydicom with
#   numpy and Pillow (pinned below) as the reference decoder; and highdicom,
#   which reads back the Parametric Maps the reports tests export.
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hilum-target}"
export HILUM_VENV="${HILUM_VENV:-$HOME/.cache/hilum-venv}"
HILUM_ORT_VERSION="1.31.1"
HILUM_PYDICOM_VERSION="3.0.2"
HILUM_NUMPY_VERSION="2.4.6"
HILUM_PILLOW_VERSION="12.1.1"
HILUM_HIGHDICOM_VERSION="0.28.2"

hilum_pip() {
    "$HILUM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

if [ ! -x "$HILUM_VENV/bin/python" ]; then
    echo "hilum: creating $HILUM_VENV (cmake, ONNX Runtime from PyPI)" >&2
    python3 -m venv "$HILUM_VENV"
fi

if [ -z "${CMAKE:-}" ]; then
    if command -v cmake >/dev/null 2>&1; then
        CMAKE="$(command -v cmake)"
    else
        [ -x "$HILUM_VENV/bin/cmake" ] || hilum_pip "cmake>=3.20,<5"
        CMAKE="$HILUM_VENV/bin/cmake"
    fi
fi
export CMAKE

if ! ls "$HILUM_VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$HILUM_ORT_VERSION" >/dev/null 2>&1; then
    hilum_pip "onnxruntime==$HILUM_ORT_VERSION"
fi

if ! "$HILUM_VENV/bin/python" -c "
import importlib.metadata as m, sys
want = {'pydicom': '$HILUM_PYDICOM_VERSION', 'numpy': '$HILUM_NUMPY_VERSION', 'pillow': '$HILUM_PILLOW_VERSION', 'highdicom': '$HILUM_HIGHDICOM_VERSION'}
sys.exit(any(m.version(p) != v for p, v in want.items()))
" >/dev/null 2>&1; then
    hilum_pip "pydicom==$HILUM_PYDICOM_VERSION" "numpy==$HILUM_NUMPY_VERSION" "pillow==$HILUM_PILLOW_VERSION" \
        "highdicom==$HILUM_HIGHDICOM_VERSION"
fi
