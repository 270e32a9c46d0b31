#!/usr/bin/env python3
"""Launch-to-first-image time of DICOM viewers, measured the same way for each.

What is measured
----------------
For each viewer and each run: the wall time from starting the viewer process
(just before ``subprocess.Popen``) to the first screen capture on which the
image is visible, i.e. on which the viewer's window already looks like its
final, settled state.  N runs (default 5) after one discarded warm-up run
(page cache, Mesa/llvmpipe start-up), and the median.

Method (identical for every viewer)
-----------------------------------
1. A private Xvfb on a free display number (``Xvfb :N -screen 0 WxHx24
   -nolisten tcp -br``: black root, no window manager, so windows appear
   undecorated at their requested position).  We wait, in a bounded loop,
   until it accepts a connection.  One Xvfb per run.
2. The viewer runs with ``DISPLAY=:N LIBGL_ALWAYS_SOFTWARE=1`` (Mesa
   llvmpipe), stdout/stderr to a log file, in its own session.
3. The harness polls the root window over one persistent X connection with
   MIT-SHM (``XShmGetImage`` via ctypes: no image copy through the socket,
   ~1-3 ms for 1600x1200) or, if MIT-SHM is missing, ``XGetImage``.  Each
   capture is timestamped at its *completion* relative to process start
   (the screen changed at some point between the previous capture and this
   one, so the reported time is an upper bound, within one capture period).
   Captures are at most every ``--interval`` ms (default 5) so that the
   poller does not take a whole core from the viewer on small machines.
   Each capture is kept as a subsampled copy (every ``--stride``-th pixel,
   default 2).
4. Polling continues until the screen has been unchanged for ``--settle``
   seconds (default 4) or ``--max`` seconds (default 60) have passed.  The
   last capture is the reference F (the settled viewer showing the image).
5. "Window" = first capture that differs from the blank root.  "Changed
   set" D = pixels where that first window capture differs from F (what was
   drawn after the window first appeared: the image, and whatever chrome
   or text came with or after it), eroded with a square of radius ``--erode``
   (default 3 subsampled px, i.e. 7x7) so that thin changes -- status-bar
   text, a cursor read-out, a label -- drop out and solid areas (the image)
   remain.  If D is then (almost) empty (< 0.02 % of the screen), the first
   window capture already showed the final picture: first-image = window.
   Otherwise first-image = first capture in which >= ``--match`` (default
   0.98) of the pixels of D are within ``--tol`` (default 16, per channel,
   0-255) of F.  "Stable" = the capture from which every later capture
   matches F that way (differs from first-image only if something flickers
   or the image is replaced by something else before settling).
   With ``--region image`` (the default) D is instead the image's own
   area: each viewer is first run once on no file, and D is the largest
   solid area (eroded as above, then the largest 4-connected component) in
   which the settled warm-up run on the file differs from that empty run.
   This keeps results that arrive later beside the image (an AI panel's
   bars, a metadata list) from counting as "the image"; it needs a warm-up
   run.
6. The viewer is terminated (SIGTERM to its pid and its process group, then
   SIGKILL after 3 s) and Xvfb is terminated by pid.  Nothing is left running.

With ``--save DIR`` the first-window, first-image and final captures of each
run are written as PNGs: look at them once to check that "first image"
really is the image and not, say, a spinner that happens to sit where the
image will be.

The pydicom baseline (``--pydicom``) is the wall time of one
``python -c`` process (interpreter start, imports, read, decode to
pixel_array (pylibjpeg-openjpeg for JPEG 2000), apply_modality_lut,
apply_voi_lut (first window, else min-max), scaling to 8 bits, MONOCHROME1
inversion, and writing a PNG with Pillow), N runs after one warm-up, median.

Usage
-----
    source ~/.cache/hilum-venv/bin/activate
    python benches/launch_peers.py --file F.dcm --runs 5 \\
        --viewer hilum=/path/to/hilum \\
        --viewer 'perspecta=/path/to/perspecta' \\
        --pydicom --json out.jsonl --save /tmp/launch-shots

``--viewer NAME=COMMAND``: COMMAND is split like a shell line; the file is
appended as the last argument, or substituted for ``{file}`` if present.
Output: one JSON line and one markdown table row per viewer (stdout), and
optional JSON lines appended to ``--json``.
"""

import argparse
from collections import deque
import ctypes
import ctypes.util
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------
# X11 capture via ctypes (libX11 + libXext MIT-SHM)
# --------------------------------------------------------------------------


class _Funcs(ctypes.Structure):
    _fields_ = [
        ("create_image", ctypes.c_void_p),
        ("destroy_image", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)),
        ("get_pixel", ctypes.c_void_p),
        ("put_pixel", ctypes.c_void_p),
        ("sub_image", ctypes.c_void_p),
        ("add_pixel", ctypes.c_void_p),
    ]


class _XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
        ("obdata", ctypes.c_void_p),
        ("f", _Funcs),
    ]


class _ShmInfo(ctypes.Structure):
    _fields_ = [
        ("shmseg", ctypes.c_ulong),
        ("shmid", ctypes.c_int),
        ("shmaddr", ctypes.c_void_p),
        ("readOnly", ctypes.c_int),
    ]


_ZPIXMAP = 2
_ALLPLANES = ctypes.c_ulong(-1).value


def _libs():
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xext = ctypes.CDLL(ctypes.util.find_library("Xext") or "libXext.so.6")
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    vp, ul, i, u = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_uint
    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = vp, [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [vp]
    x11.XDefaultScreen.restype, x11.XDefaultScreen.argtypes = i, [vp]
    x11.XRootWindow.restype, x11.XRootWindow.argtypes = ul, [vp, i]
    x11.XDefaultVisual.restype, x11.XDefaultVisual.argtypes = vp, [vp, i]
    x11.XDefaultDepth.restype, x11.XDefaultDepth.argtypes = i, [vp, i]
    x11.XDisplayWidth.restype, x11.XDisplayWidth.argtypes = i, [vp, i]
    x11.XDisplayHeight.restype, x11.XDisplayHeight.argtypes = i, [vp, i]
    x11.XSync.argtypes = [vp, i]
    x11.XGetImage.restype = ctypes.POINTER(_XImage)
    x11.XGetImage.argtypes = [vp, ul, i, i, u, u, ul, i]
    xext.XShmQueryExtension.restype, xext.XShmQueryExtension.argtypes = i, [vp]
    xext.XShmCreateImage.restype = ctypes.POINTER(_XImage)
    xext.XShmCreateImage.argtypes = [vp, vp, u, i, vp, ctypes.POINTER(_ShmInfo), u, u]
    xext.XShmAttach.restype, xext.XShmAttach.argtypes = i, [vp, ctypes.POINTER(_ShmInfo)]
    xext.XShmDetach.restype, xext.XShmDetach.argtypes = i, [vp, ctypes.POINTER(_ShmInfo)]
    xext.XShmGetImage.restype = i
    xext.XShmGetImage.argtypes = [vp, ul, ctypes.POINTER(_XImage), i, i, ul]
    libc.shmget.restype, libc.shmget.argtypes = i, [i, ctypes.c_size_t, i]
    libc.shmat.restype, libc.shmat.argtypes = vp, [i, vp, i]
    libc.shmdt.restype, libc.shmdt.argtypes = i, [vp]
    libc.shmctl.restype, libc.shmctl.argtypes = i, [i, i, vp]
    return x11, xext, libc


class Grabber:
    """Root-window captures of one X display as (H, W, 3) uint8 BGR arrays."""

    def __init__(self, display: str):
        self.x11, self.xext, self.libc = _libs()
        self.d = self.x11.XOpenDisplay(display.encode())
        if not self.d:
            raise OSError(f"cannot open display {display}")
        scr = self.x11.XDefaultScreen(self.d)
        self.root = self.x11.XRootWindow(self.d, scr)
        self.w = self.x11.XDisplayWidth(self.d, scr)
        self.h = self.x11.XDisplayHeight(self.d, scr)
        self.shm = None
        self.img = None
        if self.xext.XShmQueryExtension(self.d):
            try:
                self._init_shm(scr)
            except OSError:
                self.shm = None
        self.method = "XShmGetImage" if self.shm else "XGetImage"

    def _init_shm(self, scr):
        info = _ShmInfo()
        img = self.xext.XShmCreateImage(
            self.d,
            self.x11.XDefaultVisual(self.d, scr),
            self.x11.XDefaultDepth(self.d, scr),
            _ZPIXMAP,
            None,
            ctypes.byref(info),
            self.w,
            self.h,
        )
        if not img:
            raise OSError("XShmCreateImage failed")
        im = img.contents
        if im.bits_per_pixel != 32:
            raise OSError("need a 24/32-bit visual")
        size = im.bytes_per_line * im.height
        info.shmid = self.libc.shmget(0, size, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
        if info.shmid < 0:
            raise OSError("shmget failed")
        addr = self.libc.shmat(info.shmid, None, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            self.libc.shmctl(info.shmid, 0, None)
            raise OSError("shmat failed")
        info.shmaddr = addr
        info.readOnly = 0
        im.data = addr
        ok = self.xext.XShmAttach(self.d, ctypes.byref(info))
        self.x11.XSync(self.d, 0)
        self.libc.shmctl(info.shmid, 0, None)  # IPC_RMID: freed once both detach
        if not ok:
            self.libc.shmdt(addr)
            raise OSError("XShmAttach failed")
        self.shm, self.img = info, img
        buf = (ctypes.c_uint8 * size).from_address(addr)
        self._view = np.frombuffer(buf, np.uint8).reshape(im.height, im.bytes_per_line // 4, 4)[
            :, : im.width, :3
        ]

    def grab(self, stride: int = 1) -> np.ndarray:
        if self.shm:
            if not self.xext.XShmGetImage(self.d, self.root, self.img, 0, 0, _ALLPLANES):
                raise OSError("XShmGetImage failed")
            return self._view[::stride, ::stride].copy()
        p = self.x11.XGetImage(self.d, self.root, 0, 0, self.w, self.h, _ALLPLANES, _ZPIXMAP)
        if not p:
            raise OSError("XGetImage failed")
        im = p.contents
        try:
            raw = ctypes.string_at(im.data, im.bytes_per_line * im.height)
            a = np.frombuffer(raw, np.uint8).reshape(im.height, im.bytes_per_line // 4, 4)
            return a[::stride, : im.width : stride, :3].copy()
        finally:
            im.f.destroy_image(ctypes.addressof(im))

    def close(self):
        if self.d:
            if self.shm:
                self.xext.XShmDetach(self.d, ctypes.byref(self.shm))
                self.x11.XSync(self.d, 0)
                self.libc.shmdt(self.shm.shmaddr)
                self.shm = None
            self.x11.XCloseDisplay(self.d)
            self.d = None


# --------------------------------------------------------------------------
# Xvfb and process handling
# --------------------------------------------------------------------------


def free_display(start: int = 91) -> int:
    for n in range(start, start + 200):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def start_xvfb(screen: str, log):
    """Start Xvfb on a free display; return (proc, ':N', Grabber)."""
    for _attempt in range(5):
        n = free_display()
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", f"{screen}x24", "-nolisten", "tcp", "-br"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                try:
                    return proc, f":{n}", Grabber(f":{n}")
                except OSError:
                    pass
            time.sleep(0.05)
        stop(proc)  # died (display taken by a racing server?) or timed out: retry
    raise RuntimeError("Xvfb did not start")


def stop(proc, grace: float = 3.0):
    """Terminate one process we started (and its own process group)."""
    if proc is None or proc.poll() is not None:
        if proc is not None:
            _killpg(proc, signal.SIGKILL)  # leftover children in its group, if any
        return
    proc.terminate()
    _killpg(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        _killpg(proc, signal.SIGKILL)
        proc.wait(timeout=5)
    _killpg(proc, signal.SIGKILL)


def _killpg(proc, sig):
    # Each child is started with start_new_session=True, so its pgid == pid
    # and the group holds only what that child spawned.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------
# One measured viewer run
# --------------------------------------------------------------------------


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary erosion with a (2r+1)^2 square (separable), outside = False."""
    out = mask
    for axis in (0, 1):
        acc = out.copy()
        n = out.shape[axis]
        for k in range(1, r + 1):
            if k >= n:
                acc[:] = False
                break
            fwd = np.zeros_like(out)
            bwd = np.zeros_like(out)
            if axis == 0:
                fwd[:-k] = out[k:]
                bwd[k:] = out[:-k]
            else:
                fwd[:, :-k] = out[:, k:]
                bwd[:, k:] = out[:, :-k]
            acc &= fwd & bwd
        out = acc
    return out


def matches(frame: np.ndarray, final: np.ndarray, mask: np.ndarray, tol: int) -> float:
    """Fraction of mask pixels whose max channel difference to final is <= tol."""
    diff = np.abs(frame[mask].astype(np.int16) - final[mask].astype(np.int16)).max(axis=-1)
    return float((diff <= tol).mean())


def run_viewer(cmd, args, workdir: Path, tag: str, region=None):
    """One run; returns (result, final capture). With `region` (a mask of
    the image on the settled screen) first-image is the first capture that
    matches the final one there; without, the changed-set rule below."""
    log_path = workdir / f"{tag}.log"
    with open(log_path, "wb") as log:
        xvfb, display, grab = start_xvfb(args.screen, log)
        viewer = None
        try:
            blank = grab.grab(args.stride)
            env = dict(os.environ, DISPLAY=display, LIBGL_ALWAYS_SOFTWARE="1")
            env.pop("WAYLAND_DISPLAY", None)
            period = args.interval / 1000.0
            frames = []  # (t_seconds, subsampled frame)
            t0 = time.perf_counter()
            viewer = subprocess.Popen(
                cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )
            last_change = None
            drawn = False
            cap_times = []
            cap_ts = []
            exit_code = None
            while True:
                c0 = time.perf_counter()
                f = grab.grab(args.stride)
                t = time.perf_counter() - t0
                cap_times.append(time.perf_counter() - c0)
                cap_ts.append(t)
                if not frames or not np.array_equal(f, frames[-1][1]):
                    frames.append((t, f))
                    last_change = t
                    drawn = drawn or not np.array_equal(f, blank)
                if viewer.poll() is not None:
                    exit_code = viewer.returncode
                    break
                if (drawn and t - last_change >= args.settle) or t >= args.max:
                    break
                left = period - (time.perf_counter() - c0)
                if left > 0:
                    time.sleep(left)
            t_end = time.perf_counter() - t0
        finally:
            stop(viewer)
            grab.close()
            stop(xvfb)

    res = {"captures": len(cap_times), "distinct_frames": len(frames),
           "capture_ms_median": round(1000 * statistics.median(cap_times), 2),
           "settled": exit_code is None and t_end < args.max, "log": str(log_path)}
    if exit_code is not None:
        res["error"] = f"viewer exited with code {exit_code} after {t_end:.2f} s"
        return res, None
    final = frames[-1][1]
    win = next((i for i, (_, f) in enumerate(frames)
                if np.abs(f.astype(np.int16) - blank).max() > args.tol), None)
    if win is None:
        res["error"] = "nothing was ever drawn"
        return res, None
    res["t_window"] = round(frames[win][0], 4)
    if region is not None:
        changed = region
        res["region_fraction"] = round(float(region.mean()), 4)
    else:
        changed = np.abs(frames[win][1].astype(np.int16) - final).max(axis=-1) > args.tol
        res["changed_fraction_raw"] = round(float(changed.mean()), 4)
        changed = erode(changed, args.erode)  # drop thin text / cursor read-outs
        res["changed_fraction"] = round(float(changed.mean()), 4)
    first = stable = None
    if changed.sum() < 0.0002 * changed.size:
        first = stable = win
    else:
        ok = [matches(f, final, changed, args.tol) >= args.match for _, f in frames]
        first = next((i for i in range(win, len(frames)) if ok[i]), len(frames) - 1)
        stable = len(frames) - 1
        while stable > first and ok[stable - 1]:
            stable -= 1
    res["t_first_image"] = round(frames[first][0], 4)
    res["t_stable"] = round(frames[stable][0], 4)
    prev = [c for c in cap_ts if c < frames[first][0]]
    res["resolution_ms"] = round(1000 * (frames[first][0] - (prev[-1] if prev else 0.0)), 1)
    if args.save:
        from PIL import Image
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for name, i in (("window", win), ("first", first), ("final", len(frames) - 1)):
            Image.fromarray(frames[i][1][:, :, ::-1]).save(out / f"{tag}_{name}.png")
    return res, final


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask."""
    seen = np.zeros_like(mask)
    best = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        queue, part = deque([(y0, x0)]), []
        while queue:
            y, x = queue.popleft()
            part.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        if len(part) > len(best):
            best = part
    out = np.zeros_like(mask)
    if best:
        ys, xs = zip(*best)
        out[list(ys), list(xs)] = True
    return out


def image_region(with_file: np.ndarray, empty: np.ndarray, args) -> np.ndarray:
    """Where the image is on the settled screen: the largest solid area in
    which the viewer opened on the file differs from the same viewer opened
    on nothing (panels, text and AI results around it are smaller or thin)."""
    differs = np.abs(with_file.astype(np.int16) - empty.astype(np.int16)).max(axis=-1) > args.tol
    return largest_component(erode(differs, args.erode))


# --------------------------------------------------------------------------
# pydicom baseline
# --------------------------------------------------------------------------

PYDICOM_CODE = r"""
import sys
import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from PIL import Image
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array
if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
    a = a[0]
m = apply_modality_lut(a, ds)
if "WindowCenter" in ds and "WindowWidth" in ds:
    v = apply_voi_lut(m, ds, index=0, prefer_lut=False)
    # pydicom's windowing output range (see pydicom.pixels.processing.apply_windowing)
    if ds.get("ModalityLUTSequence"):
        lo, hi = 0, 2 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    elif ds.PixelRepresentation == 0:
        lo, hi = 0, 2 ** ds.BitsStored - 1
    else:
        lo, hi = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        lo = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        hi = hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
elif "VOILUTSequence" in ds:
    v = apply_voi_lut(m, ds, index=0)
    lo, hi = 0, 2 ** ds.VOILUTSequence[0].LUTDescriptor[2] - 1
else:
    v = m
    lo, hi = float(v.min()), float(v.max())
v = v.astype(np.float64)
u8 = np.clip(np.floor((v - lo) * 255.0 / max(hi - lo, 1e-9) + 0.5), 0, 255).astype(np.uint8)
if ds.PhotometricInterpretation == "MONOCHROME1":
    u8 = 255 - u8
Image.fromarray(u8).save(sys.argv[2])
"""


def run_pydicom(file: str, workdir: Path, python: str):
    out = workdir / "pydicom.png"
    t0 = time.perf_counter()
    p = subprocess.run([python, "-c", PYDICOM_CODE, file, str(out)],
                       capture_output=True, timeout=300)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        return {"error": p.stderr.decode(errors="replace")[-800:]}
    return {"t_first_image": round(t, 4), "t_stable": round(t, 4), "png": str(out)}


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(
        description="Launch-to-first-image time of DICOM viewers under Xvfb + llvmpipe.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--viewer", action="append", default=[], metavar="NAME=COMMAND",
                    help="viewer command line; FILE appended or put at {file}")
    ap.add_argument("--file", required=True, help="DICOM file to open")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="discarded runs per viewer first")
    ap.add_argument("--pydicom", action="store_true", help="also the pydicom baseline")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the baseline")
    ap.add_argument("--screen", default="1600x1200", help="Xvfb screen WxH (must hold every window)")
    ap.add_argument("--interval", type=float, default=5.0, help="min ms between captures")
    ap.add_argument("--stride", type=int, default=2, help="keep every n-th pixel of a capture")
    ap.add_argument("--settle", type=float, default=4.0, help="s unchanged = settled")
    ap.add_argument("--max", type=float, default=60.0, help="s, hard limit per run")
    ap.add_argument("--tol", type=int, default=16, help="per-channel match tolerance (0-255)")
    ap.add_argument("--erode", type=int, default=3,
                    help="erode the changed set by this radius (subsampled px) to ignore text")
    ap.add_argument("--match", type=float, default=0.98, help="fraction of changed pixels to match")
    ap.add_argument("--region", choices=("image", "changed"), default="image",
                    help="image: compare only the image's area, found against a run of the "
                         "viewer on no file (needs a warm-up run); changed: what changed after "
                         "the window first appeared")
    ap.add_argument("--save", help="dir for window/first/final PNGs of every run")
    ap.add_argument("--json", help="append result JSON lines here")
    args = ap.parse_args()
    if args.region == "image" and args.warmup < 1:
        sys.exit("--region image needs --warmup 1 or more (the region comes from the warm-up)")

    file = str(Path(args.file).resolve())
    if not Path(file).is_file():
        sys.exit(f"no such file: {file}")
    jobs = []
    for spec in args.viewer:
        name, sep, cmdline = spec.partition("=")
        if not sep or not cmdline:
            sys.exit(f"--viewer wants NAME=COMMAND, got {spec!r}")
        argv = shlex.split(cmdline)
        argv = [a.replace("{file}", file) for a in argv] if "{file}" in cmdline else argv + [file]
        jobs.append((name, argv))
    if args.pydicom:
        jobs.append(("pydicom", None))
    if not jobs:
        sys.exit("nothing to do: give --viewer and/or --pydicom")

    stem = Path(file).stem
    rows = []
    with tempfile.TemporaryDirectory(prefix="launch_peers_") as tmp:
        workdir = Path(args.save) if args.save else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name, argv in jobs:
            runs = []
            region = None
            if argv is not None and args.region == "image":
                empty_argv = [a for a in argv if a != file]
                empty, empty_final = run_viewer(empty_argv, args, workdir, f"{name}_empty")
                print(f"# {name}_empty: {json.dumps(empty)}", file=sys.stderr, flush=True)
            for i in range(args.warmup + args.runs):
                tag = f"{name}_{stem}_{'w' if i < args.warmup else ''}{i if i < args.warmup else i - args.warmup}"
                if argv is None:
                    r = run_pydicom(file, workdir, args.python)
                else:
                    r, final = run_viewer(argv, args, workdir, tag, region)
                    if region is None and args.region == "image" and final is not None \
                            and empty_final is not None:
                        region = image_region(final, empty_final, args)
                        if args.save:
                            from PIL import Image
                            Image.fromarray((region * 255).astype(np.uint8)).save(
                                Path(args.save) / f"{name}_{stem}_region.png")
                r["warmup"] = i < args.warmup
                print(f"# {tag}: {json.dumps(r)}", file=sys.stderr, flush=True)
                runs.append(r)
            meas = [r for r in runs if not r["warmup"]]
            good = [r for r in meas if "t_first_image" in r]
            row = {
                "viewer": name,
                "command": argv if argv else [args.python, "-c", "<pydicom baseline>", file],
                "file": file,
                "runs_s": [r.get("t_first_image") for r in meas],
                "median_s": round(statistics.median(r["t_first_image"] for r in good), 4) if good else None,
                "window_s": [r.get("t_window") for r in meas] if argv else None,
                "stable_s": [r.get("t_stable") for r in meas],
                "errors": [r["error"] for r in meas if "error" in r],
                "capture_ms_median": (round(statistics.median(r["capture_ms_median"] for r in meas
                                                              if "capture_ms_median" in r), 2)
                                      if argv and meas else None),
                "settings": {k: getattr(args, k) for k in
                             ("screen", "interval", "stride", "settle", "tol", "erode", "match",
                              "warmup")},
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print()
    print("| viewer | file | median first image (s) | runs (s) | window shown (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        fmt = lambda xs: ", ".join("err" if x is None else f"{x:.3f}" for x in xs)
        med = "n/a" if r["median_s"] is None else f"{r['median_s']:.3f}"
        win = fmt(r["window_s"]) if r["window_s"] else "-"
        print(f"| {r['viewer']} | {Path(r['file']).name} | {med} | {fmt(r['runs_s'])} | {win} |")


if __name__ == "__main__":
    main()
