#!/usr/bin/env bash
# The main job: build Hilum (release) and open the viewer on the bundled
# sample chest X-ray with the default model. Extra arguments replace the
# default, e.g.
#   scripts/run.sh path/to/study/             (open a folder in the viewer)
#   scripts/run.sh render assets/CT_small.dcm --out ct.png --preset lung
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --quiet
exec "$CARGO_TARGET_DIR/release/hilum" "$@"
