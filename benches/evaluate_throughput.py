"""`hilum evaluate` throughput against a plain Python onnxruntime loop on
the same images, in the same run.

Usage: python evaluate_throughput.py HILUM [THREADS] [REPEAT] [ROUNDS]

HILUM is the (release) `hilum` binary. The set is the 16 bundled chest
X-rays (`assets/chest-xray/labels.csv`) listed REPEAT times (default 10,
so 160 images), written to a temporary CSV with absolute paths. Each round
runs, alternating:

- `hilum evaluate CSV --json --engine onnxruntime --ep cpu --threads N`:
  its own `images_per_second` (read, decode, preprocess, classify every
  image; model loading excluded) and the process's wall time;
- Python `onnxruntime` (same library version, same ONNX file, N intra-op
  threads) in a loop over the same list: Pillow decode, RGB, NEAREST
  resize to 150x150, x / 127.5 - 1 (Keras load_img + Xception
  preprocess_input, as the manifest says), `session.run`; timed from the
  first image to the last (session creation excluded), and the script's
  whole wall time, interpreter start and imports included.

Prints one JSON object: the median of ROUNDS (default 3) rounds for each
side, the ratio hilum / Python in images per second (above 1: hilum is
faster) and the largest probability difference between the two.
"""
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "pneumonia-xception", "model.onnx")
LABELS = os.path.join(ROOT, "assets", "chest-xray", "labels.csv")

PYTHON_LOOP = r"""
import json, sys, time
import numpy as np
import onnxruntime as ort
from PIL import Image

model, list_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
paths = [line.rstrip("\n") for line in open(list_path, encoding="utf-8") if line.strip()]
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
start = time.perf_counter()
probabilities = []
for path in paths:
    image = Image.open(path).convert("RGB").resize((150, 150), Image.NEAREST)
    x = (np.asarray(image, dtype=np.float32) / 127.5 - 1.0)[None]
    probabilities.append(session.run(["probabilities"], {name: x})[0][0].tolist())
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "images": len(paths), "probabilities": probabilities}))
"""


def bundled_set():
    with open(LABELS, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    base = os.path.dirname(LABELS)
    return [(os.path.join(base, r["path"]), r["label"]) for r in rows]


def run_hilum(hilum, labels_csv, threads):
    start = time.perf_counter()
    out = subprocess.run(
        [hilum, "evaluate", labels_csv, "--json", "--engine", "onnxruntime",
         "--ep", "cpu", "--threads", str(threads)],
        capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"hilum evaluate failed ({out.returncode}): {out.stderr}")
    result = json.loads(out.stdout)
    return result, wall


def run_python(list_path, threads):
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PYTHON_LOOP, MODEL, list_path, str(threads)],
        capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    return json.loads(out.stdout), wall


def largest_difference(ours, theirs):
    """The largest absolute difference between two lists of probabilities."""
    return max(abs(a - b) for a, b in zip(ours, theirs))


def comparison(images, threads, rounds, hilum_rates, hilum_walls, python_rates,
               python_walls, worst):
    """The medians of hilum's and Python's rounds, their ratio, and the
    per-round figures (shared with triage_throughput.py)."""
    hilum_rate = statistics.median(hilum_rates)
    python_rate = statistics.median(python_rates)
    return {
        "images": images,
        "threads": threads,
        "rounds": rounds,
        "onnxruntime": ort.__version__,
        "hilum_images_per_second": round(hilum_rate, 2),
        "python_images_per_second": round(python_rate, 2),
        "ratio_hilum_over_python": round(hilum_rate / python_rate, 3),
        "hilum_process_wall_s": round(statistics.median(hilum_walls), 3),
        "python_process_wall_s": round(statistics.median(python_walls), 3),
        "max_abs_probability_difference": worst,
        "per_round": {
            "hilum_images_per_second": [round(r, 2) for r in hilum_rates],
            "python_images_per_second": [round(r, 2) for r in python_rates],
        },
    }


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hilum = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    items = bundled_set() * repeat
    with tempfile.TemporaryDirectory() as tmp:
        labels_csv = os.path.join(tmp, "labels.csv")
        with open(labels_csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label"])
            writer.writerows(items)
        list_path = os.path.join(tmp, "paths.txt")
        with open(list_path, "w", encoding="utf-8") as f:
            f.write("\n".join(p for p, _ in items) + "\n")
        hilum_rates, hilum_walls, python_rates, python_walls = [], [], [], []
        worst = 0.0
        for _ in range(rounds):
            result, wall = run_hilum(hilum, labels_csv, threads)
            hilum_rates.append(result["images_per_second"])
            hilum_walls.append(wall)
            py, py_wall = run_python(list_path, threads)
            python_rates.append(py["images"] / py["seconds"])
            python_walls.append(py_wall)
            for record, theirs in zip(result["images"], py["probabilities"]):
                ours = list(record["probabilities"].values())
                worst = max(worst, largest_difference(ours, theirs))
    print(json.dumps(comparison(len(items), threads, rounds, hilum_rates, hilum_walls,
                                python_rates, python_walls, worst), indent=2))

if __name__ == "__main__":
    main()
