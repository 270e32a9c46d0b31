"""Phantom CT series and their numpy reformats, for tests/volume.

Usage:
  python phantom.py make OUT_DIR SPEC_JSON
  python phantom.py reference SERIES_DIR CASES_JSON OUT_DIR

`make` writes one series of single-frame CT slices (pydicom) as SPEC asks:
  rows, columns, slices, pixel_spacing [row, col], slice_spacing, z0,
  orientation (6 cosines), tilt_degrees (the slices' column direction tilted
  about the row direction while the table still moves along z: a gantry
  tilt), signed, slope, intercept, window [c, w] or null, skip (slice
  numbers left out: a gap), duplicate (a slice number written twice),
  series_uid, study_uid, frame_of_reference_uid, study_date, seed. File names are shuffled and Instance Numbers scrambled,
  so only Image Position (Patient) orders the slices.

`reference` reads the series back with pydicom, orders it by position along
the normal, applies the rescale and computes each case's plane with numpy:
axial = slice N; coronal = row R of every slice; sagittal = column C of
every slice, most superior slice at the top; a slab of K planes is
planes N-K//2 .. N-K//2+K cut at the edges, combined by max, min or mean;
then the DICOM linear window (PS3.3 C.11.2.1.2.1) to 8 bits. It writes
CASE.raw (uint8, row-major) and prints one JSON object per case with its
shape and physical spacing.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def make(out, spec):
    rng = np.random.default_rng(spec.get("seed", 1))
    rows, cols, n = spec["rows"], spec["columns"], spec["slices"]
    row_dir = np.array(spec.get("orientation", [1, 0, 0, 0, 1, 0])[:3], float)
    col_dir = np.array(spec.get("orientation", [1, 0, 0, 0, 1, 0])[3:], float)
    tilt = math.radians(spec.get("tilt_degrees", 0.0))
    if tilt:
        # Rotate the column direction about the row direction.
        axis = row_dir / np.linalg.norm(row_dir)
        col_dir = (col_dir * math.cos(tilt) + np.cross(axis, col_dir) * math.sin(tilt)
                   + axis * np.dot(axis, col_dir) * (1 - math.cos(tilt)))
    normal = np.cross(row_dir, col_dir)
    # The table moves along z; without tilt that is the normal's direction.
    step_dir = np.array([0.0, 0.0, 1.0]) if tilt else normal
    study = spec.get("study_uid") or generate_uid()
    series = spec.get("series_uid") or generate_uid()
    frame_of_reference = spec.get("frame_of_reference_uid") or generate_uid()
    numbers = [k for k in range(n) if k not in spec.get("skip", [])]
    if "duplicate" in spec:
        numbers.append(spec["duplicate"])
    names = rng.permutation(len(numbers))
    instance_numbers = rng.permutation(len(numbers)) + 1
    y, x = np.mgrid[0:rows, 0:cols]
    signed = spec.get("signed", True)
    slope, intercept = spec.get("slope", 1.0), spec.get("intercept", -1024.0)
    for j, k in enumerate(numbers):
        # Hounsfield units: a body of soft tissue with a darker "lung"
        # ring, a bright "vessel" moving from slice to slice and noise, in
        # a field of view whose corners are padding (-2000 HU, stored as
        # negative values when signed); every plane differs, and maxima
        # and minima fall in different slices.
        r2 = ((x - cols / 2) / (cols / 2)) ** 2 + ((y - rows / 2) / (rows / 2)) ** 2
        body = 40 + 150 * np.sin(x / 3.0 + k) * np.cos(y / 4.0 - k / 2.0)
        body = np.where((r2 > 0.25) & (r2 < 0.5), -800 + 100 * np.sin(x + y + k), body)
        vessel = 1500 * np.exp(-((x - (k * 3) % cols) ** 2 + (y - (k * 5) % rows) ** 2) / 6.0)
        noise = rng.integers(-120, 120, size=(rows, cols))
        hu = body + vessel + noise - (300 if k % 3 == 0 else 0)
        hu = np.where(r2 > 1.0, -2000, hu)
        values = np.round((hu - intercept) / slope)
        if signed:
            stored = np.clip(values, -2048, 2047).astype(np.int16)
        else:
            stored = np.clip(values, 0, 4095).astype(np.uint16)
        position = np.array([-50.0, -60.0, spec.get("z0", 0.0)]) + step_dir * k * spec["slice_spacing"]
        ds = Dataset()
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame_of_reference
        ds.Modality = "CT"
        ds.PatientID = "PHANTOM"
        ds.PatientName = "Phantom^Volume"
        ds.SeriesNumber = 1
        ds.InstanceNumber = int(instance_numbers[j])
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in list(row_dir) + list(col_dir)]
        ds.PixelSpacing = [f"{v}" for v in spec["pixel_spacing"]]
        ds.SliceThickness = str(spec["slice_spacing"])
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope = str(slope)
        ds.RescaleIntercept = str(intercept)
        if spec.get("study_date"):
            ds.StudyDate = spec["study_date"]
        if spec.get("window"):
            ds.WindowCenter, ds.WindowWidth = [str(v) for v in spec["window"]]
        ds.PixelData = stored.tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        ds.save_as(out / f"slice{names[j]:03d}.dcm", enforce_file_format=True)


def linear_window(values, center, width):
    """PS3.3 C.11.2.1.2.1, then to 8 bits as floor(y * 255 + 0.5)."""
    width = max(width, 1.0)
    lower = center - 0.5 - (width - 1) / 2
    upper = center - 0.5 + (width - 1) / 2
    y = (values - (center - 0.5)) / (width - 1) + 0.5
    y = np.where(values <= lower, 0.0, np.where(values > upper, 1.0, y))
    return np.clip(np.floor(y * 255 + 0.5), 0, 255).astype(np.uint8)


def reference(series_dir, cases, out):
    slices = [pydicom.dcmread(p) for p in sorted(series_dir.glob("*.dcm"))]
    o = np.array(slices[0].ImageOrientationPatient, float)
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda s: float(np.dot(np.array(s.ImagePositionPatient, float), normal)))
    volume = np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept)
                       for s in slices])
    z = [float(s.ImagePositionPatient[2]) for s in slices]
    superior_first = volume[::-1] if z[-1] >= z[0] else volume
    spacing = [float(v) for v in slices[0].PixelSpacing]
    offsets = [float(np.dot(np.array(s.ImagePositionPatient, float), normal)) for s in slices]
    slice_spacing = float(np.median(np.diff(offsets)))
    for case in cases:
        plane, index, k = case["plane"], case["index"], case.get("slab", 1)
        start = max(index - k // 2, 0)
        if plane == "axial":
            stack, spacings = volume[start:index - k // 2 + k], spacing
        elif plane == "coronal":
            stack = np.moveaxis(superior_first[:, start:index - k // 2 + k, :], 1, 0)
            spacings = [slice_spacing, spacing[1]]
        else:
            stack = np.moveaxis(superior_first[:, :, start:index - k // 2 + k], 2, 0)
            spacings = [slice_spacing, spacing[0]]
        combine = {"mip": np.max, "minip": np.min, "mean": np.mean}[case.get("mode", "mip")]
        values = combine(stack, axis=0)
        center, width = case.get("window") or [float(slices[0].WindowCenter), float(slices[0].WindowWidth)]
        pixels = linear_window(values, center, width)
        (out / f"{case['name']}.raw").write_bytes(pixels.tobytes())
        print(json.dumps({"name": case["name"], "height": pixels.shape[0], "width": pixels.shape[1],
                          "row_spacing": spacings[0], "column_spacing": spacings[1]}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        make(out, json.loads(sys.argv[3]))
    else:
        reference(Path(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4]))
