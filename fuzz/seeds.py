#!/usr/bin/env python3
"""Regenerates the committed seed corpora under fuzz/corpus/ (stdlib only).

    python3 fuzz/seeds.py [CORPUS_DIR]

CORPUS_DIR is the reference DICOM corpus (default ../shared/corpus/dicom
relative to the repository root, or $HILUM_CORPUS). Seeds per target:

- load:  small corpus files covering every transfer syntax the loader
         handles (copied unmodified; provenance in fuzz/corpus/SOURCES.md);
- guard: the same files' data sets behind the target's encoding byte, and
         whole files (for the File Meta walk);
- rle:   every RLE fragment of the corpus's RLE files behind the target's
         layout header, plus small generated frames;
- deid:  the data sets of the uncompressed files behind the target's
         option bytes.
"""

import os
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"

# (file, transfer syntax family); all are MIT-licensed pydicom test files.
FILES = [
    "meta_missing_tsyntax.dcm",
    "JPEGLSNearLossless_16.dcm",
    "SC_rgb_jls_lossy_line.dcm",
    "SC_rgb_small_odd.dcm",
    "6154",
    "SC_rgb_dcmtk_+eb+cy+np.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle_16bit_2frame.dcm",
    "image_dfl.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "rtdose.dcm",
    "MR_small_RLE.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "JPGExtended.dcm",
    "CT_small.dcm",
]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
RLE = "1.2.840.10008.1.2.5"
SHORT_VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO",
             b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}


def split_meta(data):
    """(offset of the data set, transfer syntax UID or None)."""
    pos = 132 if data[128:132] == b"DICM" else 0
    ts = None
    while pos + 8 <= len(data):
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 2:
            break
        vr = data[pos + 4:pos + 6]
        if vr in SHORT_VRS:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            start = pos + 8
        else:
            (length,) = struct.unpack_from("<I", data, pos + 8)
            start = pos + 12
        if element == 0x10:
            ts = data[start:start + length].rstrip(b"\0 ").decode()
        pos = start + length
    return pos, ts


def fragments(dataset):
    """The fragments of the encapsulated Pixel Data of an explicit VR LE data set."""
    pos = dataset.find(b"\xe0\x7f\x10\x00") + 12
    fragments = []
    while pos + 8 <= len(dataset):
        group, element, length = struct.unpack_from("<HHI", dataset, pos)
        pos += 8
        if (group, element) != (0xFFFE, 0xE000):
            break
        fragments.append(dataset[pos:pos + length])
        pos += length
    return fragments[1:]  # the first item is the Basic Offset Table


def rle_frame(segments):
    header = struct.pack("<I", len(segments))
    offset = 64
    offsets = []
    for s in segments:
        offsets.append(offset)
        offset += len(s)
    header += b"".join(struct.pack("<I", o) for o in offsets)
    header += b"\0" * (64 - len(header))
    return header + b"".join(segments)


def rle_layout(samples, bytes_per_sample, pixels):
    """The rle target's 3-byte header (see fuzz_targets/rle.rs)."""
    spp = {1: 0, 3: 1, 4: 2}[samples]
    bps = {1: 0, 2: 1, 4: 2}[bytes_per_sample]
    return bytes([spp | bps << 2]) + struct.pack("<H", pixels)


def png(width, height, bit_depth, colour_type, rows):
    """A PNG with filter type 0 on every row."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\0" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def tiff_gray8(width, height, pixels):
    """A little-endian baseline TIFF, one strip of 8-bit gray."""
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, height),
               (279, 4, 1, len(pixels))]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = data_offset if tag == 273 else value
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + pixels


def write(target, name, data):
    path = OUT / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main():
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else
                  os.environ.get("HILUM_CORPUS", ROOT.parent / "shared" / "corpus" / "dicom"))
    for target in ("load", "guard", "rle", "deid"):
        for old in (OUT / target).glob("*"):
            old.unlink()
    encoding_byte = {IMPLICIT_LE: 0, EXPLICIT_LE: 1, EXPLICIT_BE: 3}
    for name in FILES:
        data = (corpus / name).read_bytes()
        stem = name.replace("+", "_")
        write("load", stem, data)
        start, ts = split_meta(data)
        write("guard", stem + ".file", bytes([1]) + data)
        if ts in encoding_byte:
            dataset = data[start:]
            write("guard", stem + ".dataset", bytes([encoding_byte[ts]]) + dataset)
            deid_byte = {0: 4, 1: 0, 3: 8}[encoding_byte[ts]]
            write("deid", stem, bytes([deid_byte, 0]) + dataset)
            write("deid", stem + ".shifted", bytes([deid_byte | 1, 3]) + dataset)
        if name == "SC_rgb_dcmtk_+eb+cy+np.dcm":
            # Its baseline JPEG stream, as a raster file.
            write("load", "SC_rgb_dcmtk.jpg", fragments(data[start:])[0])
        if ts == RLE:
            for i, fragment in enumerate(fragments(data[start:])):
                # Layouts of the two corpus RLE files.
                layout = (rle_layout(1, 2, 64 * 64) if "MR_small" in name
                          else rle_layout(3, 2, 100 * 100))
                write("rle", f"{stem}.{i}", layout + fragment)
    # Small raster images for the loader's PNG and TIFF paths (JPEG: above).
    write("load", "gen-gray16.png",
          png(4, 3, 16, 0, [bytes(range(r * 8, r * 8 + 8)) for r in range(3)]))
    write("load", "gen-rgb8.png", png(3, 2, 8, 2, [bytes(range(9)), bytes(range(9, 18))]))
    write("load", "gen-gray8.tif", tiff_gray8(3, 2, bytes([0, 50, 100, 150, 200, 250])))
    # Generated frames: literal and repeat runs, a no-op byte, 8-bit RGB,
    # 32-bit gray, and a segment that decodes short.
    write("rle", "gen-8bit-gray", rle_layout(1, 1, 8) + rle_frame([b"\x03\x01\x02\x03\x04\xfd\x09"]))
    write("rle", "gen-8bit-rgb", rle_layout(3, 1, 4) +
          rle_frame([b"\xfd\x10", b"\x80\x03\x01\x02\x03\x04", b"\xfd\x30"]))
    write("rle", "gen-32bit-gray", rle_layout(1, 4, 2) +
          rle_frame([b"\xff\x00", b"\xff\x01", b"\x01\x02\x03", b"\xff\x7f"]))
    write("rle", "gen-short", rle_layout(1, 2, 16) + rle_frame([b"\xfd\x01", b"\x00\x05"]))


if __name__ == "__main__":
    main()
