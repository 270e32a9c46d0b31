"""Generates the foreign objects that tests/foreign_objects.rs reads back.

Usage: python generate.py CORPUS_DIR OUT_DIR

Every object is built over corpus images with highdicom (Parametric Maps,
Segmentations, a TID 1500 SR) or pydicom (a GSPS with every field the reader
takes, broken variants for the error tests); the dcmtk GSPS is made by the
Rust test itself with `dcmpsmk`. The values are fixed so that the test can
assert them exactly; nothing generated is committed.
"""

import json
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

corpus = Path(sys.argv[1])
out = Path(sys.argv[2])
ct = pydicom.dcmread(corpus / "CT_small.dcm")
mr = pydicom.dcmread(corpus / "MR_small.dcm")

DEVICE = dict(
    manufacturer="Hilum test suite",
    manufacturer_model_name="foreign-objects",
    software_versions="1",
    device_serial_number="42",
)


def save(ds, name):
    ds.save_as(out / name, enforce_file_format=True)


# --- Parametric Maps -------------------------------------------------------

rows, cols = ct.Rows, ct.Columns
ramp = (np.arange(rows)[:, None] * 0.5 + np.arange(cols)[None, :] * 0.25).astype(np.float32)
hu = hd.sr.CodedConcept("[hnsf'U]", "UCUM", "Hounsfield unit")
mapping = hd.pm.RealWorldValueMapping(
    lut_label="RAMP",
    lut_explanation="test ramp",
    unit=hu,
    value_range=(float(ramp.min()), float(ramp.max())),
    slope=2,
    intercept=-1,
)
pm = hd.pm.ParametricMap(
    [ct],
    ramp,
    series_instance_uid=generate_uid(),
    series_number=90,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    contains_recognizable_visual_features=False,
    real_world_value_mappings=[mapping],
    voi_lut_transformations=[hd.VOILUTTransformation(window_center=64.0, window_width=128.0)],
    content_label="RAMP_MAP",
    content_description="a float ramp",
    **DEVICE,
)
pm.SeriesDescription = "Test parametric map"
save(pm, "pm_float.dcm")

# Integer pixels with a LUT: stored s in 0..255 maps to 10 + 0.5 * s.
small = (np.arange(rows)[:, None] + np.arange(cols)[None, :]).astype(np.uint16) % 256
lut = [10.0 + 0.5 * s for s in range(256)]
lut_mapping = hd.pm.RealWorldValueMapping(
    lut_label="LUTMAP",
    lut_explanation="a LUT mapping",
    unit=hd.sr.CodedConcept("1", "UCUM", "no units"),
    value_range=(0, 255),
    lut_data=lut,
)
pm_lut = hd.pm.ParametricMap(
    [ct],
    small,
    series_instance_uid=generate_uid(),
    series_number=91,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    contains_recognizable_visual_features=False,
    real_world_value_mappings=[lut_mapping],
    voi_lut_transformations=[hd.VOILUTTransformation(window_center=128.0, window_width=256.0)],
    **DEVICE,
)
save(pm_lut, "pm_lut.dcm")

# A map without any Real World Value Mapping: refused by the reader.
for item in pm.PerFrameFunctionalGroupsSequence:
    if "RealWorldValueMappingSequence" in item:
        del item.RealWorldValueMappingSequence
if "RealWorldValueMappingSequence" in pm.SharedFunctionalGroupsSequence[0]:
    del pm.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence
pm.SOPInstanceUID = generate_uid()
pm.file_meta.MediaStorageSOPInstanceUID = pm.SOPInstanceUID
save(pm, "pm_no_mapping.dcm")

# --- Segmentations ---------------------------------------------------------

algo = hd.AlgorithmIdentificationSequence(
    name="test-segmenter", family=codes.cid7162.ArtificialIntelligence, version="2.1"
)


def describe(number, label, lab):
    return hd.seg.SegmentDescription(
        segment_number=number,
        segment_label=label,
        segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type="AUTOMATIC",
        algorithm_identification=algo,
        display_color=hd.color.CIELabColor(*lab),
    )


mask = np.zeros((1, rows, cols, 2), dtype=bool)
mask[0, 10:30, 20:50, 0] = True  # segment 1: a rectangle
yy, xx = np.mgrid[0:rows, 0:cols]
mask[0, :, :, 1] = (yy - 64) ** 2 + (xx - 80) ** 2 <= 15**2  # segment 2: a disk
seg = hd.seg.Segmentation(
    [ct],
    mask,
    "BINARY",
    [describe(1, "Rectangle lesion", (50.0, 60.0, 40.0)), describe(2, "Disk lesion", (70.0, -40.0, 30.0))],
    series_instance_uid=generate_uid(),
    series_number=92,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    content_label="TWO_SEGMENTS",
    content_description="two binary segments",
    **DEVICE,
)
seg.SeriesDescription = "Test binary segmentation"
save(seg, "seg_binary.dcm")

# Pixel Data shorter than frames x rows x columns bits.
short = pydicom.dcmread(out / "seg_binary.dcm")
short.PixelData = short.PixelData[: len(short.PixelData) // 2]
save(short, "seg_short_pixels.dcm")

frac = ((yy + xx) % 256).astype(np.float32) / 255.0
seg_frac = hd.seg.Segmentation(
    [ct],
    frac[None, :, :, None],
    "FRACTIONAL",
    [describe(1, "Probability", (60.0, 20.0, -30.0))],
    series_instance_uid=generate_uid(),
    series_number=93,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    fractional_type="PROBABILITY",
    max_fractional_value=255,
    **DEVICE,
)
save(seg_frac, "seg_fractional.dcm")

# The same, RLE compressed: encapsulated pixel data is refused with a reason.
seg_rle = hd.seg.Segmentation(
    [ct],
    frac[None, :, :, None],
    "FRACTIONAL",
    [describe(1, "Probability", (60.0, 20.0, -30.0))],
    series_instance_uid=generate_uid(),
    series_number=95,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    transfer_syntax_uid=RLELossless,
    **DEVICE,
)
save(seg_rle, "seg_rle.dcm")

# --- A BINARY SEG whose frames are not whole bytes, built by hand ----------
# 3 x 5 pixels per frame (15 bits), three frames over MR_small: the bits run
# on across frame boundaries (PS3.5 8.1.1), 45 bits in 6 bytes.
odd_rows, odd_cols, n = 3, 5, 3
odd_masks = np.zeros((n, odd_rows, odd_cols), dtype=np.uint8)
odd_masks[0, 0, :] = 1
odd_masks[1, :, 0] = 1
odd_masks[1, 2, 4] = 1
odd_masks[2] = np.eye(odd_rows, odd_cols, dtype=np.uint8)
bits = odd_masks.reshape(-1)
packed = np.packbits(bits, bitorder="little").tobytes()
if len(packed) % 2:
    packed += b"\0"
odd = Dataset()
odd.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
odd.SOPInstanceUID = generate_uid()
odd.StudyInstanceUID = mr.StudyInstanceUID
odd.SeriesInstanceUID = generate_uid()
odd.Modality = "SEG"
odd.SamplesPerPixel = 1
odd.PhotometricInterpretation = "MONOCHROME2"
odd.Rows, odd.Columns = odd_rows, odd_cols
odd.NumberOfFrames = n
odd.BitsAllocated, odd.BitsStored, odd.HighBit, odd.PixelRepresentation = 1, 1, 0, 0
odd.SegmentationType = "BINARY"
segments = []
for number in (1, 2):
    s = Dataset()
    s.SegmentNumber = number
    s.SegmentLabel = f"Odd {number}"
    s.SegmentAlgorithmType = "MANUAL"
    segments.append(s)  # no colour: the reader's palette applies
odd.SegmentSequence = Sequence(segments)
per_frame = []
for index, (segment, source) in enumerate([(1, mr.SOPInstanceUID), (2, mr.SOPInstanceUID), (1, "1.2.3.999.1")]):
    src = Dataset()
    src.ReferencedSOPClassUID = mr.SOPClassUID
    src.ReferencedSOPInstanceUID = source
    der = Dataset()
    der.SourceImageSequence = Sequence([src])
    ident = Dataset()
    ident.ReferencedSegmentNumber = segment
    item = Dataset()
    item.DerivationImageSequence = Sequence([der])
    item.SegmentIdentificationSequence = Sequence([ident])
    per_frame.append(item)
odd.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
odd.PixelData = packed
odd["PixelData"].VR = "OB"
odd.file_meta = FileMetaDataset()
odd.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
odd.file_meta.MediaStorageSOPClassUID = odd.SOPClassUID
odd.file_meta.MediaStorageSOPInstanceUID = odd.SOPInstanceUID
save(odd, "seg_odd.dcm")

# --- TID 1500 SR -------------------------------------------------------------

region = hd.sr.ImageRegion(
    graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
    graphic_data=np.array([[10.5, 20.0], [40.0, 20.0], [40.0, 50.25], [10.5, 20.0]]),
    source_image=hd.sr.SourceImageForRegion(ct.SOPClassUID, ct.SOPInstanceUID),
)
group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
    tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="Lesion 1"),
    referenced_region=region,
    finding_type=codes.SCT.Nodule,
    measurements=[
        hd.sr.Measurement(
            name=codes.SCT.Area,
            value=123.5,
            unit=codes.UCUM.SquareMillimeter,
        )
    ],
    qualitative_evaluations=[
        hd.sr.QualitativeEvaluation(
            name=hd.sr.CodedConcept("RID5", "RADLEX", "Margin"),
            value=hd.sr.CodedConcept("RID5713", "RADLEX", "Spiculated"),
        )
    ],
)
context = hd.sr.ObservationContext(
    observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(), name="Test AI"
        ),
    )
)
report = hd.sr.MeasurementReport(
    observation_context=context,
    procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
    imaging_measurements=[group],
)
sr = hd.sr.Comprehensive3DSR(
    evidence=[ct],
    content=report,
    series_instance_uid=generate_uid(),
    series_number=94,
    sop_instance_uid=generate_uid(),
    instance_number=1,
    manufacturer="Hilum test suite",
)
sr.SeriesDescription = "Test measurement report"
save(sr, "sr_tid1500.dcm")

# --- GSPS with every field the reader takes, built with pydicom -------------


def ref_image(ds, frames=None):
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    if frames:
        item.ReferencedFrameNumber = frames
    return item


def gsps(name, image, referenced_series_images, extra_uid=None):
    g = Dataset()
    g.SOPClassUID = "1.2.840.10008.5.1.4.1.1.11.1"
    g.SOPInstanceUID = generate_uid()
    g.StudyInstanceUID = image.StudyInstanceUID
    g.SeriesInstanceUID = generate_uid()
    g.Modality = "PR"
    g.Manufacturer = "Hilum test suite"
    g.SeriesDescription = "Test presentation state"
    g.ContentLabel = "ANNOTATED"
    g.ContentDescription = "every GSPS field"
    series = Dataset()
    series.SeriesInstanceUID = image.SeriesInstanceUID
    series.ReferencedImageSequence = Sequence([ref_image(d) for d in referenced_series_images])
    g.ReferencedSeriesSequence = Sequence([series])

    layer = Dataset()
    layer.GraphicLayer = "AI"
    layer.GraphicLayerOrder = 1
    layer.GraphicLayerDescription = "findings"
    g.GraphicLayerSequence = Sequence([layer])

    text = Dataset()
    text.BoundingBoxAnnotationUnits = "PIXEL"
    text.UnformattedTextValue = "Nodule 12 mm"
    text.BoundingBoxTopLeftHandCorner = [5.0, 6.0]
    text.BoundingBoxBottomRightHandCorner = [60.0, 16.0]
    text.BoundingBoxTextHorizontalJustification = "LEFT"
    anchored = Dataset()
    anchored.AnchorPointAnnotationUnits = "DISPLAY"
    anchored.UnformattedTextValue = "anchor"
    anchored.AnchorPoint = [0.25, 0.75]
    anchored.AnchorPointVisibility = "Y"

    poly = Dataset()
    poly.GraphicAnnotationUnits = "PIXEL"
    poly.GraphicDimensions = 2
    poly.NumberOfGraphicPoints = 3
    poly.GraphicData = [10.0, 10.0, 50.5, 10.0, 50.5, 40.0]
    poly.GraphicType = "POLYLINE"
    poly.GraphicFilled = "N"
    circle = Dataset()
    circle.GraphicAnnotationUnits = "DISPLAY"
    circle.GraphicDimensions = 2
    circle.NumberOfGraphicPoints = 2
    circle.GraphicData = [0.5, 0.5, 0.625, 0.5]
    circle.GraphicType = "CIRCLE"
    circle.GraphicFilled = "Y"

    annotation = Dataset()
    refs = [ref_image(image)]
    if extra_uid:
        missing = Dataset()
        missing.ReferencedSOPClassUID = image.SOPClassUID
        missing.ReferencedSOPInstanceUID = extra_uid
        refs.append(missing)
    annotation.ReferencedImageSequence = Sequence(refs)
    annotation.GraphicLayer = "AI"
    annotation.TextObjectSequence = Sequence([text, anchored])
    annotation.GraphicObjectSequence = Sequence([poly, circle])
    g.GraphicAnnotationSequence = Sequence([annotation])

    area = Dataset()
    area.ReferencedImageSequence = Sequence([ref_image(image)])
    area.DisplayedAreaTopLeftHandCorner = [1, 1]
    area.DisplayedAreaBottomRightHandCorner = [100, 120]
    area.PresentationSizeMode = "SCALE TO FIT"
    area.PresentationPixelSpacing = [0.661468, 0.661468]
    g.DisplayedAreaSelectionSequence = Sequence([area])

    voi = Dataset()
    voi.ReferencedImageSequence = Sequence([ref_image(image)])
    voi.WindowCenter = 40
    voi.WindowWidth = 400
    voi.WindowCenterWidthExplanation = "soft tissue"
    g.SoftcopyVOILUTSequence = Sequence([voi])
    g.PresentationLUTShape = "IDENTITY"

    g.file_meta = FileMetaDataset()
    g.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    g.file_meta.MediaStorageSOPClassUID = g.SOPClassUID
    g.file_meta.MediaStorageSOPInstanceUID = g.SOPInstanceUID
    save(g, name)


gsps("gsps_full.dcm", ct, [ct], extra_uid="1.2.826.0.1.3680043.9.7433.99.1")



def colors(ds):
    return [
        list(hd.color.CIELabColor.from_dicom_value(tuple(s.RecommendedDisplayCIELabValue)).to_rgb())
        for s in ds.SegmentSequence
    ]


frac_pixels = pydicom.dcmread(out / "seg_fractional.dcm").pixel_array
# What the Rust test compares with: highdicom's own CIELab -> sRGB.
expected = {
    "ct_uid": ct.SOPInstanceUID,
    "mr_uid": mr.SOPInstanceUID,
    "seg_binary_colors": colors(seg),
    "seg_fractional_colors": colors(seg_frac),
    # pydicom's decoding of the pixel data, as a second opinion.
    "fractional_values": {
        f"{r},{c}": int(frac_pixels[r, c]) for r, c in [(0, 0), (3, 4), (127, 127), (100, 20)]
    },
    "odd_pixels": pydicom.dcmread(out / "seg_odd.dcm").pixel_array.reshape(-1).tolist(),
}
(out / "expected.json").write_text(json.dumps(expected))
print("ok")
