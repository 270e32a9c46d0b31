#!/usr/bin/env python3
"""Make the 1955 x 1841 JPEG 2000 lossless CR used by benches/launch_peers.py.

Source: RG3_UNCR.dcm from the shared corpus (a real 1760 x 1760, 10-bit,
MONOCHROME1 Fuji CR of a lower leg, Explicit VR Little Endian; see
shared/corpus/dicom/SOURCES.md).  The pixels are padded to Rows 1841 x
Columns 1955 by mirroring the image's own edges (``numpy.pad(mode="symmetric")``,
split evenly on both sides), so every pixel is a real CR value and the
padded border compresses like real data rather than like a flat fill.

The result is encoded JPEG 2000 lossless (Transfer Syntax
1.2.840.10008.1.2.4.90) with pydicom 3 + pylibjpeg-openjpeg, given a new SOP
Instance UID, and checked: pydicom must decode it back bit-identically.

Usage (in the venv that has pydicom, numpy and pylibjpeg-openjpeg):

    python benches/make_j2k_cr.py [--src RG3_UNCR.dcm] [--out OUT.dcm]

Default output: ~/.cache/hilum-bench/cr_1955x1841_j2k.dcm

With ``--corpus DIR`` it also makes DIR a benchmark corpus of the JPEG 2000
files: links to every JPEG 2000 file of the shared corpus that decodes, the
new CR, and a ``reference.json`` listing them, for

    HILUM_CORPUS=DIR cargo bench --bench imaging -- decode_render
    HILUM_CORPUS=DIR python benches/pydicom_baseline.py
"""

import json

import argparse
import hashlib
import os
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import JPEG2000Lossless, generate_uid

ROWS, COLS = 1841, 1955
HERE = Path(__file__).resolve().parent


def default_src() -> Path:
    for base in (HERE.parent.parent / "shared", HERE.parent / "shared"):
        p = base / "corpus" / "dicom" / "RG3_UNCR.dcm"
        if p.is_file():
            return p
    return Path("RG3_UNCR.dcm")


def fit(arr: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Crop (centred) or mirror-pad (centred) to rows x cols."""
    out = arr
    for axis, want in ((0, rows), (1, cols)):
        have = out.shape[axis]
        if have > want:
            start = (have - want) // 2
            out = out.take(range(start, start + want), axis=axis)
        elif have < want:
            extra = want - have
            pad = [(0, 0), (0, 0)]
            pad[axis] = (extra // 2, extra - extra // 2)
            out = np.pad(out, pad, mode="symmetric")
    return np.ascontiguousarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=default_src())
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(os.path.expanduser("~/.cache/hilum-bench/cr_1955x1841_j2k.dcm")),
    )
    ap.add_argument("--corpus", type=Path, help="also make DIR a JPEG 2000 benchmark corpus")
    args = ap.parse_args()

    ds = pydicom.dcmread(args.src)
    src = ds.pixel_array
    assert src.ndim == 2 and ds.SamplesPerPixel == 1, "expects a single-frame greyscale image"
    arr = fit(src, ROWS, COLS).astype(src.dtype)

    # Drop the trailing padding element and anything else after Pixel Data.
    for tag in [t for t in ds.keys() if t > 0x7FE00010]:
        del ds[tag]
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.ImageComments = (
        f"Hilum bench: {src.shape[1]}x{src.shape[0]} RG3_UNCR mirror-padded to {COLS}x{ROWS}, "
        "JPEG 2000 lossless"
    )
    ds.DerivationDescription = "Mirror-padded from RG3_UNCR; JPEG 2000 lossless (reversible)"
    ds.LossyImageCompression = "00"
    ds.Rows, ds.Columns = arr.shape
    # compress() encodes with pylibjpeg-openjpeg (reversible 5/3 wavelet),
    # sets the transfer syntax and encapsulates the frame.
    ds.compress(JPEG2000Lossless, arr, encoding_plugin="pylibjpeg")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(args.out, enforce_file_format=True)

    back = pydicom.dcmread(args.out)
    dec = back.pixel_array
    assert back.file_meta.TransferSyntaxUID == JPEG2000Lossless
    assert (back.Rows, back.Columns) == (ROWS, COLS), (back.Rows, back.Columns)
    assert dec.shape == arr.shape and dec.dtype == arr.dtype, (dec.shape, dec.dtype)
    assert np.array_equal(dec, arr), "lossless round trip failed"
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes): {COLS}x{ROWS} {dec.dtype} "
        f"BitsStored={back.BitsStored} {back.PhotometricInterpretation} "
        f"min={int(dec.min())} max={int(dec.max())} "
        f"sha256(raw)={hashlib.sha256(dec.astype(dec.dtype.newbyteorder('<')).tobytes()).hexdigest()[:16]}… "
        "decodes back identically"
    )
    if args.corpus:
        make_corpus(args.src.parent, args.out, args.corpus)


JPEG2000_SYNTAXES = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}


def make_corpus(shared: Path, cr: Path, corpus: Path) -> None:
    """Links the shared corpus's decodable JPEG 2000 files and `cr` into `corpus`."""
    corpus.mkdir(parents=True, exist_ok=True)
    reference = json.loads((shared / "reference.json").read_text())
    names = []
    for entry in reference["files"]:
        path = shared / entry["file"]
        if not entry.get("decodes") or not path.is_file():
            continue
        meta = pydicom.dcmread(path, stop_before_pixels=True)
        if str(meta.file_meta.TransferSyntaxUID) in JPEG2000_SYNTAXES:
            names.append((entry["file"], path))
    names.append((cr.name, cr))
    for name, target in names:
        link = corpus / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.resolve())
    files = [{"file": name, "decodes": True} for name, _ in names]
    (corpus / "reference.json").write_text(json.dumps({"files": files}, indent=1))
    print(f"made {corpus}: {', '.join(name for name, _ in names)}")


if __name__ == "__main__":
    main()
