"""`hilum triage` throughput against a plain Python onnxruntime loop over
the same files, and scaling from 1 to 2 shards, in the same run.

Usage: python triage_throughput.py HILUM [THREADS] [COPIES] [ROUNDS]

HILUM is the (release) `hilum` binary. The set is a temporary folder with
COPIES (default 10) copies of each of the 16 bundled chest X-rays (160
files). Each round runs, alternating:

- `hilum triage FOLDER --out R.jsonl --engine onnxruntime --ep cpu
  --threads N --force`: its own images per second (from its last
  progress line: first image started to last image written; model loading
  excluded) and the process's wall time;
- the Python `onnxruntime` loop of `evaluate_throughput.py` (Pillow decode,
  NEAREST resize, `x / 127.5 - 1`, one `session.run` per image, N
  intra-op threads; session creation excluded) over the same files;
- the same triage as two shards run at once (`--shard 0/2` and
  `--shard 1/2`, N/2 threads each, at least 1): the wall time from the
  start of the first to the end of the last, against the one-process wall
  time of the round.

Prints one JSON object: medians of ROUNDS (default 3) rounds, the ratio
hilum / Python in images per second (above 1: hilum is faster), the shard
speed-up (one-process wall / two-shard wall), and the largest probability
difference between hilum and Python.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate_throughput import ROOT, comparison, largest_difference, run_python  # noqa: E402

XRAYS = os.path.join(ROOT, "assets", "chest-xray")
RATE = re.compile(r"([0-9.]+) images/s")


def make_set(folder, copies):
    names = sorted(n for n in os.listdir(XRAYS) if n.endswith(".jpeg"))
    paths = []
    for copy in range(copies):
        for name in names:
            path = os.path.join(folder, f"{copy:02d}-{name}")
            shutil.copyfile(os.path.join(XRAYS, name), path)
            paths.append(path)
    return sorted(paths)


def triage_command(hilum, folder, out, threads, shard=None):
    command = [hilum, "triage", folder, "--out", out, "--engine", "onnxruntime",
               "--ep", "cpu", "--threads", str(threads), "--force"]
    if shard is not None:
        command += ["--shard", shard]
    return command


def run_triage(hilum, folder, out, threads):
    start = time.perf_counter()
    done = subprocess.run(triage_command(hilum, folder, out, threads),
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"hilum triage failed ({done.returncode}): {done.stderr}")
    rates = RATE.findall(done.stderr)
    if not rates:
        sys.exit(f"hilum triage printed no rate: {done.stderr}")
    with open(out, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    return float(rates[-1]), wall, lines


def run_two_shards(hilum, folder, tmp, threads):
    each = max(1, threads // 2)
    start = time.perf_counter()
    tasks = [subprocess.Popen(
        triage_command(hilum, folder, os.path.join(tmp, f"shard-{k}.jsonl"), each, f"{k}/2"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for k in range(2)]
    for task in tasks:
        _, err = task.communicate()
        if task.returncode != 0:
            sys.exit(f"hilum triage shard failed ({task.returncode}): {err}")
    return time.perf_counter() - start


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    hilum = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    copies = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "images")
        os.mkdir(folder)
        paths = make_set(folder, copies)
        list_path = os.path.join(tmp, "paths.txt")
        with open(list_path, "w", encoding="utf-8") as f:
            f.write("\n".join(paths) + "\n")
        out = os.path.join(tmp, "results.jsonl")
        hilum_rates, hilum_walls, python_rates, python_walls, shard_walls = [], [], [], [], []
        worst = 0.0
        for _ in range(rounds):
            rate, wall, lines = run_triage(hilum, folder, out, threads)
            hilum_rates.append(rate)
            hilum_walls.append(wall)
            py, py_wall = run_python(list_path, threads)
            python_rates.append(py["images"] / py["seconds"])
            python_walls.append(py_wall)
            by_path = {line["path"]: line for line in lines}
            for path, theirs in zip(paths, py["probabilities"]):
                ours = list(by_path[path]["probabilities"].values())
                worst = max(worst, largest_difference(ours, theirs))
            shard_walls.append(run_two_shards(hilum, folder, tmp, threads))
    result = comparison(len(paths), threads, rounds, hilum_rates, hilum_walls,
                        python_rates, python_walls, worst)
    one = statistics.median(hilum_walls)
    two = statistics.median(shard_walls)
    result["two_shards_wall_s"] = round(two, 3)
    result["speedup_two_shards_over_one"] = round(one / two, 3)
    result["per_round"]["hilum_process_wall_s"] = [round(w, 3) for w in hilum_walls]
    result["per_round"]["two_shards_wall_s"] = [round(w, 3) for w in shard_walls]
    print(json.dumps(result, indent=2))

if __name__ == "__main__":
    main()
