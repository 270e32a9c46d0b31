#!/usr/bin/env python3
"""PACS retrieval and search against a real Orthanc, Hilum and its peers in
one run (README, "PACS benchmarks").

Starts Orthanc (authentication on, DICOMweb plugin) on free loopback ports,
loads a generated CT of --slices 512x512 slices and --studies one-image
studies, then times, alternating the tools, median of --runs:

- retrieving the CT: `hilum pacs get` by WADO-RS and by C-GET, dcmtk's
  `getscu`, and Python's `dicomweb-client` (retrieve_study + save_as), each
  into a fresh folder, as a separate process (start-up included);
- searching all studies: `hilum pacs find --json` by QIDO-RS and C-FIND,
  dcmtk's `findscu`, and `dicomweb-client`'s search_for_studies;
- with --viewer (a build with the viewer) and Xvfb: the time from
  `hilum view --pacs NODE --study CT` starting the retrieval to the first
  image drawn (HILUM_STARTUP_TRACE milestones), over DICOMweb and DIMSE,
  each with an empty study cache.

Orthanc and dcmtk listen on every interface, so run this in a private
network namespace (as root):

    unshare --net sh -c 'ip link set lo up && exec "$@"' sh \\
        ~/.cache/hilum-venv/bin/python benches/pacs_peers.py --hilum target/release/hilum

Needs the Debian packages orthanc, orthanc-dicomweb and dcmtk, and pydicom,
numpy and dicomweb-client in the Python that runs it.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "bench", "bench-Pa55word"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated():
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return all(line.split(":")[0].strip() == "lo" for line in lines)


def wait_port(port, proc, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"Orthanc exited ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def make_ct(out, slices):
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    rng = np.random.default_rng(7)
    base = (rng.normal(0, 200, (512, 512))).astype(np.int16)
    for i in range(slices):
        ds = Dataset()
        ds.PatientName, ds.PatientID = "Bench^CT", "BENCH-CT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID, ds.SOPClassUID = generate_uid(), CTImageStorage
        ds.Modality, ds.StudyDate = "CT", "20260101"
        ds.SeriesNumber, ds.InstanceNumber = 1, i + 1
        ds.FrameOfReferenceUID = frame
        ds.ImagePositionPatient = [0, 0, i * 1.0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.0
        ds.Rows = ds.Columns = 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = np.roll(base, i, axis=0).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(out / f"ct{i:04}.dcm", enforce_file_format=True)
    return study


def make_small_studies(out, count):
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    for i in range(count):
        ds = Dataset()
        ds.PatientName, ds.PatientID = f"Bench^P{i:04}", f"BENCH-{i:04}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.SOPInstanceUID, ds.SOPClassUID = generate_uid(), SecondaryCaptureImageStorage
        ds.Modality, ds.StudyDate = "OT", f"2025{1 + i % 12:02}{1 + i % 28:02}"
        ds.StudyDescription, ds.AccessionNumber = f"Study {i}", f"A{i:05}"
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = np.full((8, 8), i % 256, np.uint8).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(out / f"s{i:04}.dcm", enforce_file_format=True)


def upload(http_port, files):
    import requests

    session = requests.Session()
    session.auth = (USER, PASSWORD)
    for path in files:
        r = session.post(f"http://127.0.0.1:{http_port}/instances", data=path.read_bytes())
        r.raise_for_status()


def timed(command, env=None):
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{command[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, done.stdout


DICOMWEB_CLIENT_GET = """
import sys
from pathlib import Path
from dicomweb_client.api import DICOMwebClient
from requests import Session
session = Session(); session.auth = (sys.argv[3], sys.argv[4])
client = DICOMwebClient(url=sys.argv[1], session=session)
out = Path(sys.argv[5])
for ds in client.retrieve_study(sys.argv[2]):
    ds.save_as(out / (ds.SOPInstanceUID + '.dcm'), enforce_file_format=True)
"""

DICOMWEB_CLIENT_FIND = """
import sys
from dicomweb_client.api import DICOMwebClient
from requests import Session
session = Session(); session.auth = (sys.argv[2], sys.argv[3])
client = DICOMwebClient(url=sys.argv[1], session=session)
print(len(client.search_for_studies()))
"""


def first_image_ms(viewer, node, study, env, work):
    """`hilum view --pacs` under Xvfb: ms from the retrieval's start to the
    first image drawn, with an empty study cache."""
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1200x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        data = work / "viewer-data"
        shutil.rmtree(data, ignore_errors=True)
        run_env = dict(env, DISPLAY=display, HILUM_STARTUP_TRACE="1", HILUM_DATA_DIR=str(data))
        done = subprocess.run([viewer, "view", "--pacs", node, "--study", study,
                               "--screenshot", str(work / "first.png")],
                              env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        marks = {}
        for line in done.stderr.decode(errors="replace").splitlines():
            if line.startswith("hilum: startup ") and line.endswith(" ms"):
                name, ms = line[len("hilum: startup "):-3].rsplit(": ", 1)
                marks[name] = float(ms)
        if "PACS retrieval started" not in marks or "first image drawn" not in marks:
            sys.exit(f"the viewer did not show the PACS study: {done.stderr.decode(errors='replace')[-2000:]}")
        return marks["first image drawn"] - marks["PACS retrieval started"]
    finally:
        xvfb.kill()
        xvfb.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hilum", required=True, help="the hilum binary (a release build)")
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--viewer", help="a hilum build with the viewer, for open-to-first-image")
    parser.add_argument("--shared-network", action="store_true",
                        help="run outside a private network namespace (servers on every interface)")
    args = parser.parse_args()
    if not isolated() and not args.shared_network:
        sys.exit("run this in a private network namespace (see the docstring) or pass --shared-network")
    hilum = str(Path(args.hilum).resolve())
    work = Path(tempfile.mkdtemp(prefix="hilum-pacs-bench-"))
    orthanc = None
    try:
        http_port, dicom_port = free_port(), free_port()
        config = {
            "Name": "HilumBench", "StorageDirectory": str(work / "db"), "IndexDirectory": str(work / "db"),
            "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": False, "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
            "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True, "DicomAlwaysAllowMove": True, "UnknownSopClassAccepted": True,
            "StorageCompression": False, "HttpCompressionEnabled": False, "LimitFindResults": 0,
        }
        (work / "orthanc.json").write_text(json.dumps(config))
        log = open(work / "orthanc.log", "w")
        orthanc = subprocess.Popen(["Orthanc", str(work / "orthanc.json")], stdout=log, stderr=log)
        wait_port(http_port, orthanc)
        wait_port(dicom_port, orthanc)

        ct_dir, small_dir = work / "ct", work / "small"
        ct_dir.mkdir()
        small_dir.mkdir()
        print(f"generating a {args.slices}-slice CT and {args.studies} studies", file=sys.stderr)
        study = make_ct(ct_dir, args.slices)
        make_small_studies(small_dir, args.studies)
        upload(http_port, sorted(ct_dir.iterdir()))
        upload(http_port, sorted(small_dir.iterdir()))
        ct_bytes = sum(p.stat().st_size for p in ct_dir.iterdir())

        web = f"http://127.0.0.1:{http_port}/dicom-web"
        dimse = f"dicom://ORTHANC@127.0.0.1:{dicom_port}"
        env = dict(os.environ, HILUM_PACS_USER=USER, HILUM_PACS_PASSWORD=PASSWORD)
        py = sys.executable

        def fresh(name):
            d = work / "out" / name
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            return str(d)

        get_tools = {
            "Hilum WADO-RS": lambda: [hilum, "pacs", "get", web, "--study", study, "--out", fresh("hw")],
            "Hilum C-GET": lambda: [hilum, "pacs", "get", dimse, "--study", study, "--out", fresh("hg")],
            "dcmtk getscu": lambda: ["getscu", "-aet", "HILUM", "-aec", "ORTHANC", "-S",
                                     "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
                                     "-od", fresh("dg"), "127.0.0.1", str(dicom_port)],
            "dicomweb-client": lambda: [py, "-c", DICOMWEB_CLIENT_GET, web, study, USER, PASSWORD, fresh("dc")],
        }
        find_tools = {
            "Hilum QIDO-RS": lambda: [hilum, "pacs", "find", web, "--json"],
            "Hilum C-FIND": lambda: [hilum, "pacs", "find", dimse, "--json"],
            "dcmtk findscu": lambda: ["findscu", "-aet", "HILUM", "-aec", "ORTHANC", "-S",
                                      "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
                                      "-k", "PatientName", "-k", "StudyDate", "-k", "NumberOfStudyRelatedInstances",
                                      "127.0.0.1", str(dicom_port)],
            "dicomweb-client": lambda: [py, "-c", DICOMWEB_CLIENT_FIND, web, USER, PASSWORD],
        }
        results = {"get": {k: [] for k in get_tools}, "find": {k: [] for k in find_tools}}
        for run in range(args.runs + 1):  # the first run warms Orthanc's caches
            for name, command in get_tools.items():
                elapsed, _ = timed(command(), env)
                out = work / "out" / {"Hilum WADO-RS": "hw", "Hilum C-GET": "hg", "dcmtk getscu": "dg", "dicomweb-client": "dc"}[name]
                got = len(list(out.iterdir()))
                if got != args.slices:
                    sys.exit(f"{name} retrieved {got} of {args.slices} instances")
                if run:
                    results["get"][name].append(elapsed)
            for name, command in find_tools.items():
                elapsed, stdout = timed(command(), env)
                if name.startswith("Hilum") and len(json.loads(stdout)) < args.studies:
                    sys.exit(f"{name} found fewer than {args.studies} studies")
                if run:
                    results["find"][name].append(elapsed)

        print(f"\nRetrieving a {args.slices}-slice 512x512 CT ({ct_bytes / 1e6:.0f} MB), median of {args.runs}:")
        fastest_peer = min(statistics.median(v) for k, v in results["get"].items() if not k.startswith("Hilum"))
        print("| tool | seconds | MB/s | vs the fastest peer |\n|---|--:|--:|--:|")
        for name, times in results["get"].items():
            m = statistics.median(times)
            print(f"| {name} | {m:.2f} | {ct_bytes / 1e6 / m:.0f} | {m / fastest_peer:.2f}x |")
        print(f"\nSearching {args.studies + 1} studies, median of {args.runs}:")
        fastest_peer = min(statistics.median(v) for k, v in results["find"].items() if not k.startswith("Hilum"))
        print("| tool | seconds | vs the fastest peer |\n|---|--:|--:|")
        for name, times in results["find"].items():
            m = statistics.median(times)
            print(f"| {name} | {m:.3f} | {m / fastest_peer:.2f}x |")
        if args.viewer:
            print(f"\nOpen to first image ({args.slices}-slice CT, empty cache, Xvfb + Mesa), median of {args.runs}:")
            print("| node | ms |\n|---|--:|")
            for label, node in (("DICOMweb", web), ("DIMSE", dimse)):
                times = [first_image_ms(str(Path(args.viewer).resolve()), node, study, env, work) for _ in range(args.runs)]
                results[f"open {label}"] = times
                print(f"| {label} | {statistics.median(times):.0f} |")
        print(json.dumps(results))
    finally:
        if orthanc is not None:
            orthanc.kill()
            orthanc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
