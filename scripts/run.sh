#!/usr/bin/env bash
# The main job: build Hilum (release) and run it on the bundled sample.
# Extra arguments replace the default command, e.g.
#   scripts/run.sh render assets/CT_small.dcm --out ct.png --preset lung
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --quiet
if [ "$#" -eq 0 ]; then
    set -- info --stats assets/CT_small.dcm
fi
exec "$CARGO_TARGET_DIR/release/hilum" "$@"
