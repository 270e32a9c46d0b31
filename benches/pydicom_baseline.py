#!/usr/bin/env python3
"""pydicom baseline for `cargo bench --bench imaging` (decode_render/<file>).

For every corpus file that reference.json marks as decoding, times

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array                        # frame 0 taken for multi-frame
    apply_voi_lut(apply_modality_lut(arr, ds), ds)   # gray images only

(colour images: pixel_array only; PALETTE COLOR: pixel_array + apply_color_lut)
and reports the median over N runs, in ms (wall time, or process CPU time
with --clock cpu).

`ds.pixel_array` decodes *every* frame; for multi-frame files the time of
`pydicom.pixels.pixel_array(path, index=0)` (frame 0 only, as hilum's
`FrameSelection::Only(0)` does) is reported as well.

Setup (once):
    $HOME/.cache/hilum-venv/bin/pip install pydicom==3.0.2 numpy pylibjpeg \
        pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle
Run:
    $HOME/.cache/hilum-venv/bin/python benches/pydicom_baseline.py [--runs 20] [--clock wall|cpu] [--json out.json]

The corpus is $HILUM_CORPUS, else ../shared/corpus/dicom relative to the
repository root.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array


def corpus_dir() -> Path:
    env = os.environ.get("HILUM_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / ".." / "shared" / "corpus" / "dicom"


def render(ds, arr):
    """The display pipeline as pydicom offers it, on frame 0."""
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[0]
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if int(ds.get("SamplesPerPixel", 1)) > 1:
        return arr
    if photometric == "PALETTE COLOR":
        return apply_color_lut(arr, ds)
    return apply_voi_lut(apply_modality_lut(arr, ds), ds)


def full(path):
    ds = pydicom.dcmread(path)
    return render(ds, ds.pixel_array)


def frame0_only(path):
    ds = pydicom.dcmread(path)
    arr = pixel_array(ds, index=0)
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if int(ds.get("SamplesPerPixel", 1)) > 1:
        return arr
    if photometric == "PALETTE COLOR":
        return apply_color_lut(arr, ds)
    return apply_voi_lut(apply_modality_lut(arr, ds), ds)


def median_ms(fn, path, runs, budget_s, clock):
    fn(path)  # warm-up (imports of decoder plugins, caches)
    times = []
    start = time.perf_counter()
    for _ in range(runs):
        t0 = clock()
        fn(path)
        times.append((clock() - t0) / 1e6)
        # Fewer runs for big files: stop after the budget, keeping at least 5.
        if len(times) >= 5 and time.perf_counter() - start > budget_s:
            break
    return statistics.median(times), len(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="runs per file (default 20)")
    ap.add_argument("--budget", type=float, default=3.0, help="seconds per file before stopping early (min 5 runs)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time (default) or process CPU time (matches HILUM_BENCH_CPU_TIME=1)",
    )
    args = ap.parse_args()
    clock = time.perf_counter_ns if args.clock == "wall" else time.process_time_ns

    corpus = corpus_dir()
    reference = json.loads((corpus / "reference.json").read_text())
    names = [f["file"] for f in reference["files"] if f.get("decodes")]

    results = []
    skipped = []
    for name in names:
        path = str(corpus / name)
        try:
            ds = pydicom.dcmread(path)
            frames = int(ds.get("NumberOfFrames", 1) or 1)
            render(ds, ds.pixel_array)
        except Exception as e:  # a missing decoder plugin, typically
            msg = f"{type(e).__name__}: {e}".splitlines()[0][:160]
            print(f"skipping {name}: cannot decode with the installed plugins ({msg})", file=sys.stderr)
            skipped.append({"file": name, "error": msg})
            continue
        med, n = median_ms(full, path, args.runs, args.budget, clock)
        row = {
            "file": name,
            "transfer_syntax": str(ds.file_meta.get("TransferSyntaxUID", "")),
            "frames": frames,
            "median_ms": med,
            "runs": n,
        }
        if frames > 1:
            row["median_ms_frame0_only"], _ = median_ms(frame0_only, path, args.runs, args.budget, clock)
        results.append(row)

    out = {
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "clock": args.clock,
        "results": results,
        "skipped": skipped,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    width = max(len(r["file"]) for r in results) if results else 4
    print(f"{'file':<{width}}  {'median ms':>10}  {'runs':>4}  {'frame0-only ms':>14}")
    for r in results:
        f0 = r.get("median_ms_frame0_only")
        f0s = f"{f0:14.3f}" if f0 is not None else f"{'':14}"
        print(f"{r['file']:<{width}}  {r['median_ms']:10.3f}  {r['runs']:4d}  {f0s}")
    for s in skipped:
        print(f"skipped {s['file']}: {s['error']}")


if __name__ == "__main__":
    main()
