#!/usr/bin/env bash
# The main job: build Hilum (release) and open the viewer on the bundled
# sample chest X-ray with the default model. Extra arguments replace the
# default, e.g.
#   scripts/run.sh path/to/study/             (open a folder in the viewer)
#   scripts/run.sh render assets/CT_small.dcm --out ct.png --preset lung
# HILUM_NO_VIEWER=1 builds the command line only (no `viewer` feature: no
# window system or GPU crates), for batch nodes:
#   HILUM_NO_VIEWER=1 scripts/run.sh info assets/CT_small.dcm
cd "$(dirname "$0")/.."
source scripts/env.sh
features=()
if [ -n "${HILUM_NO_VIEWER:-}" ]; then
    features=(--no-default-features)
fi
cargo build --release --quiet "${features[@]}"
exec "$CARGO_TARGET_DIR/release/hilum" "$@"
