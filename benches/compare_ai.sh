#!/usr/bin/env bash
# Classification latency: hilum on ONNX Runtime CPU and on the embedded
# engine, against Python onnxruntime on the same ONNX file and the same input
# tensor, in one run. Usage: benches/compare_ai.sh [THREADS] [ITERATIONS]
cd "$(dirname "$0")/.."
source scripts/env.sh
threads="${1:-2}"
iterations="${2:-50}"
cargo build --release --quiet
hilum="$CARGO_TARGET_DIR/release/hilum"
input="$(mktemp)"
images=(assets/chest-xray/*.jpeg)
echo "== hilum, ONNX Runtime CPU"
"$hilum" bench "${images[@]}" --engine onnxruntime --ep cpu --threads "$threads" \
    --iterations "$iterations" --save-input "$input"
echo "== Python onnxruntime, same model, same input"
"$HILUM_VENV/bin/python" -c "import PIL" 2>/dev/null || hilum_pip pillow
"$HILUM_VENV/bin/python" benches/onnxruntime_baseline.py models/pneumonia-xception/model.onnx \
    "$input" "${images[0]}" "$threads" "$iterations"
echo "== hilum, embedded engine (tract)"
"$hilum" bench "${images[@]}" --engine tract --threads "$threads" --iterations "$iterations"
rm -f "$input"
