"""Python onnxruntime on the same model and the same input as `hilum bench`.

Usage: python onnxruntime_baseline.py MODEL.onnx INPUT.f32 IMAGE THREADS [ITERATIONS]

INPUT.f32 is the tensor `hilum bench --save-input` wrote (1x150x150x3 float32):
inference is timed on exactly that input. IMAGE is the same image file:
Python's preprocessing of it (Pillow, as Keras load_img does: gray to RGB,
NEAREST resize to 150x150, x / 127.5 - 1) is timed on the decoded image, as
hilum's preprocess is. Prints one JSON object with medians in ms.
"""
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

model, input_path, image_path = sys.argv[1:4]
threads = int(sys.argv[4])
iterations = int(sys.argv[5]) if len(sys.argv) > 5 else 50
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
x = np.fromfile(input_path, dtype="<f4").reshape(1, 150, 150, 3)
name = session.get_inputs()[0].name
decoded = Image.open(image_path)
decoded.load()


def preprocess():
    rgb = decoded.convert("RGB").resize((150, 150), Image.NEAREST)
    return (np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0)[None]


for _ in range(3):
    session.run(["probabilities"], {name: x})
pre, inf, total = [], [], []
for _ in range(iterations):
    t0 = time.perf_counter()
    prepared = preprocess()
    t1 = time.perf_counter()
    probabilities = session.run(["probabilities"], {name: x})[0]
    t2 = time.perf_counter()
    pre.append((t1 - t0) * 1e3)
    inf.append((t2 - t1) * 1e3)
    total.append((t2 - t0) * 1e3)
print(json.dumps({
    "runtime": f"onnxruntime {ort.__version__} (Python)",
    "threads": threads,
    "iterations": iterations,
    "median_ms": {
        "preprocess": statistics.median(pre),
        "inference": statistics.median(inf),
        "preprocess_plus_inference": statistics.median(total),
    },
    "input_max_abs_diff_vs_hilum": float(np.abs(prepared - x).max()),
    "probabilities": probabilities[0].tolist(),
}))
