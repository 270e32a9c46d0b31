#!/usr/bin/env bash
# Viewer smoke run: the real binary starts under Xvfb, opens the bundled
# sample, saves a screenshot once the first image is drawn and exits; the
# screenshot must show a non-blank image. Artifact: artifacts/viewer-smoke.png
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v xvfb-run >/dev/null || { echo "smoke: xvfb-run is not installed (Debian package xvfb)" >&2; exit 1; }
# The binary `cargo test` built (same features), so CI does not build twice.
cargo test --no-run --quiet --test viewer
mkdir -p artifacts
rm -f artifacts/viewer-smoke.png
xvfb-run -a -s "-screen 0 1400x900x24" \
    timeout 300 "$CARGO_TARGET_DIR/debug/hilum" --screenshot artifacts/viewer-smoke.png
python3 scripts/check_screenshot.py artifacts/viewer-smoke.png
