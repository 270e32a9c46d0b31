"""Times Python onnxruntime on the very input `hilum bench --save-input` wrote.

Usage: python onnxruntime_baseline.py MODEL.onnx INPUT.f32 H W C THREADS [ITERATIONS]
Prints one JSON object: the median inference time in ms (batch 1, warm).
"""
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

model, input_path, h, w, c, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
iterations = int(sys.argv[7]) if len(sys.argv) > 7 else 50
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
x = np.fromfile(input_path, dtype="<f4").reshape(1, h, w, c)
name = session.get_inputs()[0].name
for _ in range(3):
    session.run(["probabilities"], {name: x})
times = []
for _ in range(iterations):
    t = time.perf_counter()
    probabilities = session.run(["probabilities"], {name: x})[0]
    times.append((time.perf_counter() - t) * 1e3)
print(json.dumps({
    "runtime": f"onnxruntime {ort.__version__} (Python)",
    "threads": threads,
    "iterations": iterations,
    "median_inference_ms": statistics.median(times),
    "probabilities": probabilities[0].tolist(),
}))
