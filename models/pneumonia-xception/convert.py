#!/usr/bin/env python3
"""Convert Hilum's default chest X-ray model to ONNX and record reference outputs.

What this does
==============
1. Downloads the wheel ``pneumonia-model-package==0.3.0`` from PyPI with
   ``pip download --no-deps`` into a temporary directory, checks and records its
   SHA-256, and extracts from it
   - ``pneumonia_model_package/trained_models/pneumonia_xception_model_val-acc_0.861.keras``
     (a Keras 3 model: frozen ImageNet Xception -> GlobalAveragePooling2D ->
     Dense(128, relu) -> Dropout(0.3) -> Dense(2) logits; class 0 = NORMAL,
     class 1 = PNEUMONIA), and
   - the 16 chest X-ray JPEGs of ``pneumonia_model_package/datasets/pneumonia-data/val/``.
2. Builds a Keras model that shares the original layers and weights and has one
   input and three outputs:

   ============== ================== =========================================
   name           shape              meaning
   ============== ================== =========================================
   input          [N,150,150,3] f32  NHWC, preprocessed (see below)
   probabilities  [N,2] f32          softmax of the logits (NORMAL, PNEUMONIA)
   features       [N,5,5,2048] f32   Xception ``block14_sepconv2_act`` map
   class_gradients[N,2,2048] f32     d logit_c / d GAP_k (exact, see below)
   ============== ================== =========================================

   ``class_gradients`` is the exact gradient of each logit with respect to the
   globally average-pooled features, computed in-graph from the head weights
   and the ReLU mask of the forward pass::

       g = GAP(features)            # [N, 2048]
       h = g @ W1 + b1              # [N, 128]  (Dropout is inactive at inference)
       class_gradients[n, c, k] = sum_j W1[k, j] * [h[n, j] > 0] * W2[j, c]

   Grad-CAM for class c is then ``relu(sum_k class_gradients[c, k] / 25 *
   features[:, :, k])`` (the gradient w.r.t. each of the 5x5 feature positions
   is the GAP gradient divided by 25, so the spatial mean of the per-position
   gradient equals ``class_gradients / 25``).
3. Converts that model with tf2onnx (opset 17, symbolic batch dimension named
   ``N``, input named ``input``), renames tf2onnx's run-dependent generated
   names so the output is byte-reproducible, then stores the large weights as
   float16 while keeping the computation in float32: every float32 initializer
   with more than 65,536 elements (the 1x1 convolutions and dense kernels, 98 %
   of the weights) is converted with onnxconverter-common's float16 tensor
   conversion (the initializer conversion ``convert_float_to_float16(...,
   keep_io_types=True)`` uses) and followed by a ``Cast`` back to float32; the
   small initializers (biases with the batch-norm folded in, depthwise
   kernels, entry-flow convolutions; 0.42 M weights, +0.8 MB) stay float32,
   which cuts the probability error against Keras about 5x (see
   ``FP32_KEEP_MAX_ELEMENTS``). Every operator still runs in float32 and
   inputs/outputs stay float32. (Converting the whole graph with
   ``convert_float_to_float16`` would also turn the *computation* into
   float16; that variant failed to load in ONNX Runtime with the extra outputs
   and makes tract compute in real fp16, ~25x slower.) Writes
   ``models/pneumonia-xception/model.onnx`` (must be <= 45 MB) and checks that
   it passes the ONNX checker and loads and runs in ONNX Runtime (CPU).
4. Computes references and writes ``models/pneumonia-xception/reference.json``:
   Keras vs ONNX (ONNX Runtime CPU, batch 1) probabilities on the 16 images,
   accuracy, Grad-CAM for class PNEUMONIA on 4 images computed with
   ``tf.GradientTape`` on the original Keras model vs from the ONNX outputs,
   and the same fidelity numbers for the (unshipped) float32 and
   all-float16-weights variants.
5. Copies the 16 JPEGs unchanged to ``assets/chest-xray/`` and writes
   ``assets/chest-xray/README.md`` (attribution).

Slices: the export avoids operations that tf2onnx lowers to ``Slice`` with an
"end" of INT64_MAX/1e9 (the tract engine rejects those when the batch dimension
is symbolic). The resulting graph has no Slice at all (ops: Add, Cast, Concat,
Conv, GlobalAveragePool, Greater, MatMul, MaxPool, Mul, Relu, Softmax,
Squeeze, Transpose, Unsqueeze); the script fails if a Slice with a
non-constant bound or a bound >= 2**30 ever appears.

Preprocessing (exactly what the upstream package does through Keras
``ImageDataGenerator.flow_from_dataframe`` -> ``load_img``)
--------------------------------------------------------------------------
1. Decode the image with PIL; 8-bit grayscale is converted to RGB (grey value
   replicated to R, G, B).
2. Resize to 150x150 with ``PIL.Image.NEAREST``; the aspect ratio is NOT kept.
3. float32, ``x / 127.5 - 1`` (Xception ``preprocess_input``), NHWC.

Toolchain (pinned in ``requirements-convert.txt``; other versions may change
the graph or the numbers)
--------------------------------------------------------------------------
tensorflow-cpu==2.20.0, keras==3.15.1, tf2onnx==1.17.0, onnx==1.23.2,
onnxruntime==1.31.1, onnxconverter-common==1.16.0, h5py, numpy 2.x, pillow.
Python 3.11. tf2onnx 1.17 needs the numpy-2 compatibility patch Keras applies
for its own ONNX export (``keras.src.export.tf2onnx_lib.patch_tf2onnx``).

Usage (from the repository root; use a virtual environment OUTSIDE the repo)::

    python3 -m venv ~/.cache/hilum-convert-venv
    ~/.cache/hilum-convert-venv/bin/pip install -r models/pneumonia-xception/requirements-convert.txt
    ~/.cache/hilum-convert-venv/bin/python models/pneumonia-xception/convert.py

Options: ``--wheel PATH`` uses an already downloaded wheel instead of calling
pip (its SHA-256 is still checked); ``--no-assets`` skips copying the JPEGs.
Network access is needed only for the PyPI download. Runtime: about a minute
on 2 CPU cores and ~6 GiB of RAM (plus the ~83 MB download). Re-running produces a byte-identical
model.onnx and reference.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

# --------------------------------------------------------------------------- constants

PACKAGE = "pneumonia-model-package"
PACKAGE_VERSION = "0.3.0"
PACKAGE_AUTHOR = "chibuikeeugene"
WHEEL_NAME = "pneumonia_model_package-0.3.0-py3-none-any.whl"
# SHA-256 of the wheel as published on PyPI (verified when this script was written).
EXPECTED_WHEEL_SHA256 = "4bb1ee80366db5de818c7255e62878871b8ec545681193f429e2575b791d3536"
KERAS_MEMBER = "pneumonia_model_package/trained_models/pneumonia_xception_model_val-acc_0.861.keras"
VAL_PREFIX = "pneumonia_model_package/datasets/pneumonia-data/val/"

PINNED = {
    "tensorflow": "2.20.0",
    "keras": "3.15.1",
    "tf2onnx": "1.17.0",
    "onnx": "1.23.2",
    "onnxruntime": "1.31.1",
    "onnxconverter_common": "1.16.0",
}

IMG_SIZE = 150
CLASSES = ["NORMAL", "PNEUMONIA"]
PNEUMONIA = 1
OPSET = 17
BATCH_DIM = "N"
FEATURE_LAYER = "block14_sepconv2_act"
MAX_MODEL_BYTES = 45 * 1000 * 1000
# Float initializers with at most this many elements stay float32 (biases, depthwise
# kernels, entry-flow convolutions: ~0.42 M of 21.3 M weights, +0.8 MB). Measured on
# the 16 images: max |prob diff| vs Keras 1.05e-3 instead of 5.3e-3 for all-fp16 weights,
# median Grad-CAM difference 8.8e-4 instead of 3.3e-3. See reference.json "variants".
FP32_KEEP_MAX_ELEMENTS = 65536
GRADCAM_TARGET = 1e-3
# Grad-CAM references for class PNEUMONIA: two pneumonia and two normal images.
# Grad-CAM for PNEUMONIA is what the viewer shows when the model calls an image
# pneumonia, so the stored references are 4 images the Keras model predicts as
# PNEUMONIA: three true positives and the one false positive (a NORMAL image).
# Parity numbers for all 16 images are recorded as well (gradcam.all_images).
GRADCAM_IMAGES = [
    "person1946_bacteria_4874.jpeg",
    "person1951_bacteria_4882.jpeg",
    "person1952_bacteria_4883.jpeg",
    "NORMAL2-IM-1438-0001.jpeg",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_MODEL = HERE / "model.onnx"
OUT_REFERENCE = HERE / "reference.json"
OUT_INPUTS = HERE / "gradcam-inputs"
ASSET_DIR = REPO / "assets" / "chest-xray"

ASSET_README = """\
# Chest X-ray sample images

The 16 JPEG files in this directory are paediatric chest radiographs (8 normal,
8 bacterial pneumonia; the label is in the file name: `NORMAL2-IM-*` = NORMAL,
`person*_bacteria_*` = PNEUMONIA). They are used as sample inputs and as the
reference set for the default model (`models/pneumonia-xception/`, see
`reference.json` there).

## Source and attribution

- Original data set: Kermany, Daniel; Zhang, Kang; Goldbaum, Michael (2018),
  "Labeled Optical Coherence Tomography (OCT) and Chest X-Ray Images for
  Classification", Mendeley Data, V2, doi:10.17632/rscbjbr9sj.2
  (https://doi.org/10.17632/rscbjbr9sj.2). Licence: Creative Commons
  Attribution 4.0 International (CC BY 4.0,
  https://creativecommons.org/licenses/by/4.0/).
  Images from Guangzhou Women and Children's Medical Center (patients aged 1-5).
- Obtained via the PyPI package `pneumonia-model-package==0.3.0`
  (author "chibuikeeugene"), directory
  `pneumonia_model_package/datasets/pneumonia-data/val/` (the data set's
  "val" split, as distributed on Kaggle), wheel SHA-256 `{wheel_sha256}`.
- The files are **unmodified** (byte-identical to the package contents; SHA-256
  of each file is listed below and in `models/pneumonia-xception/reference.json`).

These images are for demonstration and testing only. They are de-identified
research images; they must not be used to make or support clinical decisions.

## Files

| file | label | SHA-256 |
|---|---|---|
{rows}
"""


# --------------------------------------------------------------------------- helpers


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def label_from_name(name: str) -> str:
    if name.startswith("NORMAL2-IM-"):
        return "NORMAL"
    if name.startswith("person") and "_bacteria_" in name:
        return "PNEUMONIA"
    raise ValueError(f"cannot derive label from file name {name!r}")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def preprocess(path: Path) -> np.ndarray:
    """Keras ``load_img(path, target_size=(150, 150))`` + Xception preprocess_input.

    Returns float32 [150, 150, 3] in [-1, 1].
    """
    with Image.open(path) as img:
        if img.mode != "RGB":
            img = img.convert("RGB")  # 8-bit grey -> replicated to R, G, B
        if img.size != (IMG_SIZE, IMG_SIZE):
            img = img.resize((IMG_SIZE, IMG_SIZE), Image.NEAREST)  # aspect not kept
        x = np.asarray(img, dtype=np.float32)
    return x / np.float32(127.5) - np.float32(1.0)


def model_input_image(path: Path) -> Image.Image:
    """The 8-bit RGB 150x150 image ``preprocess`` scales: what the model sees."""
    with Image.open(path) as img:
        img = img.convert("RGB") if img.mode != "RGB" else img.copy()
        if img.size != (IMG_SIZE, IMG_SIZE):
            img = img.resize((IMG_SIZE, IMG_SIZE), Image.NEAREST)
    return img


def save_model_inputs(jpegs: list[Path], expected_sha256: dict[str, str]) -> None:
    """Writes the Grad-CAM reference images' model inputs as PNG to OUT_INPUTS.

    The Grad-CAM parity test feeds these to Hilum, so it compares Grad-CAM on
    the very input the references were computed from, independent of JPEG
    decoders (PIL/libjpeg and Rust decoders differ by a grey level here and
    there, and Grad-CAM is sensitive to that). Each file is checked against
    the recorded SHA-256 of the float32 input tensor.
    """
    OUT_INPUTS.mkdir(exist_ok=True)
    for p in jpegs:
        if p.name not in GRADCAM_IMAGES:
            continue
        img = model_input_image(p)
        x = np.asarray(img, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)
        if sha256_bytes(x.tobytes()) != expected_sha256[p.name]:
            sys.exit(f"{p.name}: model input differs from the recorded input_sha256")
        img.save(OUT_INPUTS / (Path(p.name).stem + ".png"), optimize=True)
    print(f"wrote {len(GRADCAM_IMAGES)} model inputs to {OUT_INPUTS}", flush=True)


def check_versions(strict: bool) -> dict:
    import h5py
    import keras
    import onnx
    import onnxconverter_common
    import onnxruntime
    import PIL
    import tensorflow as tf
    import tf2onnx

    found = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxconverter_common": onnxconverter_common.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "h5py": h5py.__version__,
    }
    bad = [f"{k}=={found[k]} (want {v})" for k, v in PINNED.items() if found[k] != v]
    if not np.__version__.startswith("2."):
        bad.append(f"numpy=={np.__version__} (want 2.x)")
    if bad:
        msg = "toolchain differs from the pinned versions: " + ", ".join(bad)
        if strict:
            sys.exit(msg + "\n(use --allow-other-versions to continue anyway)")
        print("WARNING:", msg, file=sys.stderr)
    return found


def fetch_wheel(dest: Path, wheel: Path | None) -> Path:
    if wheel is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(dest), f"{PACKAGE}=={PACKAGE_VERSION}"]
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        wheel = dest / WHEEL_NAME
    if not wheel.is_file():
        sys.exit(f"wheel not found: {wheel}")
    digest = sha256_file(wheel)
    if digest != EXPECTED_WHEEL_SHA256:
        sys.exit(f"wheel SHA-256 mismatch: got {digest}, expected {EXPECTED_WHEEL_SHA256}")
    return wheel


def extract(wheel: Path, dest: Path) -> tuple[Path, list[Path]]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        jpegs = sorted(n for n in names if n.startswith(VAL_PREFIX) and n.lower().endswith(".jpeg"))
        if KERAS_MEMBER not in names:
            sys.exit(f"{KERAS_MEMBER} not in wheel")
        if len(jpegs) != 16:
            sys.exit(f"expected 16 JPEGs under {VAL_PREFIX}, found {len(jpegs)}")
        for n in [KERAS_MEMBER, *jpegs]:
            z.extract(n, dest)
    return dest / KERAS_MEMBER, [dest / n for n in jpegs]


# --------------------------------------------------------------------------- model


def _single(t):
    """The saved Xception sub-model declares its output as a 1-element list."""
    if isinstance(t, (list, tuple)):
        if len(t) != 1:
            sys.exit(f"expected one output from the Xception base, got {len(t)}")
        return t[0]
    return t


def load_original(keras_path: Path):
    import keras

    model = keras.saving.load_model(str(keras_path), compile=False)
    names = [layer.name for layer in model.layers]
    expected = ["xception", "global_average_pooling2d", "dense", "dropout", "dense_1"]
    if [n for n in names if not n.startswith("input")] != expected:
        sys.exit(f"unexpected layer structure: {names}")
    base = model.get_layer("xception")
    if base.layers[-1].name != FEATURE_LAYER:
        sys.exit(f"Xception base ends in {base.layers[-1].name}, expected {FEATURE_LAYER}")
    return model


def build_export_model(model):
    """Keras functional model sharing the original layers: input -> 3 outputs."""
    import keras
    from keras import ops

    base = model.get_layer("xception")
    gap = model.get_layer("global_average_pooling2d")
    dense = model.get_layer("dense")  # Dense(128, relu)
    head = model.get_layer("dense_1")  # Dense(2), logits

    class ClassGradients(keras.layers.Layer):
        """d logit_c / d GAP_k = sum_j W1[k,j] * [h_j > 0] * W2[j,c] -> [N, 2, 2048].

        Written with 2-D MatMuls only (one per class) and a stack: a batched
        matmul would go through Keras' tensordot, which tf2onnx lowers to a
        Shape/Gather/Concat/Reshape chain with an unknown class dimension.
        """

        def __init__(self, w1, w2, **kwargs):
            super().__init__(**kwargs)
            # Constants (copies of the original head weights).
            self.w1t = np.ascontiguousarray(np.asarray(w1, np.float32).T)  # [128, 2048]
            self.w2t = np.ascontiguousarray(np.asarray(w2, np.float32).T)  # [2, 128]

        def call(self, h_relu):
            mask = ops.cast(ops.greater(h_relu, 0.0), "float32")  # [N,128]; relu(h)>0 <=> h>0
            w1t = ops.convert_to_tensor(self.w1t)
            per_class = [ops.matmul(mask * ops.convert_to_tensor(self.w2t[c]), w1t)  # [N,2048]
                         for c in range(self.w2t.shape[0])]
            return ops.stack(per_class, axis=1)  # [N,2,2048]

    inp = keras.Input(shape=(IMG_SIZE, IMG_SIZE, 3), name="input", dtype="float32")
    features = _single(base(inp, training=False))
    h_relu = dense(gap(features))
    logits = head(h_relu)  # Dropout is the identity at inference
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    grads = ClassGradients(dense.kernel.numpy(), head.kernel.numpy(), name="class_gradients")(h_relu)
    return keras.Model(inp, [probabilities, features, grads], name="hilum_pneumonia_xception")


def convert_to_onnx(export_model):
    import onnx
    import tensorflow as tf
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx

    patch_tf2onnx()

    spec = tf.TensorSpec([None, IMG_SIZE, IMG_SIZE, 3], tf.float32, name="input")

    @tf.function(input_signature=[spec])
    def serve(x):
        p, f, g = export_model(x, training=False)
        return {"probabilities": p, "features": f, "class_gradients": g}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec], opset=OPSET)
    graph = proto.graph

    # Output order: probabilities, features, class_gradients.
    order = ["probabilities", "features", "class_gradients"]
    outs = {o.name: o for o in graph.output}
    if sorted(outs) != sorted(order):
        sys.exit(f"unexpected ONNX outputs {list(outs)}")
    new = [onnx.ValueInfoProto() for _ in order]
    for vi, name in zip(new, order):
        vi.CopyFrom(outs[name])
    del graph.output[:]
    graph.output.extend(new)

    # One symbolic batch dimension name on the input and all outputs; the other
    # dimensions are fixed (and checked against what tf2onnx inferred).
    shapes = {"input": [IMG_SIZE, IMG_SIZE, 3], "probabilities": [2],
              "features": [5, 5, 2048], "class_gradients": [2, 2048]}
    for vi in [*graph.input, *graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != 1 + len(shapes[vi.name]):
            sys.exit(f"{vi.name}: unexpected rank {len(dims)}")
        for d, want in zip(dims[1:], shapes[vi.name]):
            if d.HasField("dim_value") and d.dim_value != want:
                sys.exit(f"{vi.name}: dimension {d.dim_value} != {want}")
            d.Clear()
            d.dim_value = want
        dims[0].Clear()
        dims[0].dim_param = BATCH_DIM
    # tf2onnx always declares ai.onnx.ml; keep only the domains the nodes use.
    used = {n.domain for n in graph.node}
    keep = [o for o in proto.opset_import if o.domain in used or o.domain in ("", "ai.onnx")]
    del proto.opset_import[:]
    proto.opset_import.extend(keep)
    proto.doc_string = (
        f"Pneumonia classifier (Xception, {PACKAGE}=={PACKAGE_VERSION}) converted by Hilum "
        "models/pneumonia-xception/convert.py. Input NHWC float32 x/127.5-1 after PIL NEAREST resize "
        "to 150x150. Outputs: probabilities [N,2] (NORMAL, PNEUMONIA), features [N,5,5,2048] "
        "(block14_sepconv2_act), class_gradients [N,2,2048] (d logit_c / d GAP_k)."
    )
    return canonicalize_names(proto)


def canonicalize_names(proto):
    """Make the file byte-reproducible.

    tf2onnx numbers the tensors and nodes it creates (``const_fold_opt__637``,
    ``Transpose__603``) in an order that varies between runs, so the same graph
    gets different names. Rename every such name in order of first use in the
    (deterministic) node list, and sort the initializers by name.
    """
    auto = re.compile(r"__\d+")
    g = proto.graph
    keep = {v.name for v in [*g.input, *g.output]}
    mapping: dict[str, str] = {}

    def canon(name: str) -> str:
        if name in keep or not auto.search(name):
            return name
        if name not in mapping:
            mapping[name] = auto.sub("", name) + f"__c{len(mapping)}"
        return mapping[name]

    for node in g.node:
        for i, x in enumerate(node.input):
            node.input[i] = canon(x)
        for i, x in enumerate(node.output):
            node.output[i] = canon(x)
    for t in g.initializer:
        t.name = canon(t.name)
    for v in g.value_info:
        v.name = canon(v.name)
    for k, node in enumerate(g.node):
        if auto.search(node.name):
            node.name = auto.sub("", node.name) + f"__n{k}"
    inits = sorted(g.initializer, key=lambda t: t.name)
    del g.initializer[:]
    g.initializer.extend(inits)
    return proto


def huge_slices(proto) -> list[str]:
    """Names of Slice nodes whose constant starts/ends exceed 2**30 in magnitude."""
    from onnx import numpy_helper

    consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)
    bad = []
    for node in proto.graph.node:
        if node.op_type != "Slice":
            continue
        for inp in node.input[1:3]:
            if inp not in consts:
                bad.append(f"{node.name} (non-constant starts/ends)")
                break
            if np.any(np.abs(consts[inp].astype(np.float64)) >= 2**30):
                bad.append(node.name)
                break
    return bad


def weights_to_fp16(proto, keep_fp32_max_elements: int = FP32_KEEP_MAX_ELEMENTS):
    """float16 storage for the large float32 initializers, float32 computation.

    Each float32 initializer W with more than ``keep_fp32_max_elements`` elements
    is converted with onnxconverter-common's ``convert_tensor_float_to_float16``
    (the initializer conversion of ``convert_float_to_float16``, same clamping:
    |x| < 1e-7 -> 1e-7, |x| > 1e4 -> 1e4), renamed to ``W__fp16`` and followed
    by ``Cast(to=FLOAT)`` producing ``W``. Smaller initializers (biases with the
    batch-norm folded in, depthwise kernels, the entry-flow convolutions, shape
    constants) stay float32. Nodes, graph inputs and outputs are unchanged, so
    ONNX Runtime and tract compute in float32. ``keep_fp32_max_elements=0``
    gives the all-float16-weights variant.
    """
    import onnx
    from onnx import TensorProto, helper
    from onnxconverter_common.float16 import convert_tensor_float_to_float16

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    g = out.graph
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) <= keep_fp32_max_elements:
            continue
        name = init.name
        convert_tensor_float_to_float16(init, min_positive_val=1e-7, max_finite_val=1e4)
        init.name = name + "__fp16"
        casts.append(helper.make_node("Cast", [init.name], [name], to=TensorProto.FLOAT,
                                      name=name + "__cast_fp32"))
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return out


def initializer_stats(proto) -> dict:
    from onnx import TensorProto

    st = {"float16_tensors": 0, "float16_elements": 0, "float32_tensors": 0, "float32_elements": 0}
    for t in proto.graph.initializer:
        n = int(np.prod(t.dims))
        if t.data_type == TensorProto.FLOAT16:
            st["float16_tensors"] += 1
            st["float16_elements"] += n
        elif t.data_type == TensorProto.FLOAT:
            st["float32_tensors"] += 1
            st["float32_elements"] += n
    return st


# --------------------------------------------------------------------------- references


def keras_gradcam(model, x: np.ndarray, cls: int) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM with tf.GradientTape on the original model's layers.

    Returns (cam [5,5] raw, logits [2]).
    """
    import tensorflow as tf

    base = model.get_layer("xception")
    gap = model.get_layer("global_average_pooling2d")
    dense = model.get_layer("dense")
    drop = model.get_layer("dropout")
    head = model.get_layer("dense_1")
    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        feats = _single(base(xt, training=False))
        tape.watch(feats)
        logits = head(drop(dense(gap(feats)), training=False))
        target = logits[:, cls]
    grads = tape.gradient(target, feats)[0].numpy().astype(np.float64)  # [5,5,2048]
    a = feats[0].numpy().astype(np.float64)
    w = grads.mean(axis=(0, 1))  # [2048]
    cam = np.maximum((a * w).sum(axis=-1), 0.0)
    return cam, logits[0].numpy()


def onnx_gradcam(features: np.ndarray, class_gradients: np.ndarray, cls: int) -> np.ndarray:
    a = features.astype(np.float64)  # [5,5,2048]
    w = class_gradients[cls].astype(np.float64) / (a.shape[0] * a.shape[1])
    return np.maximum((a * w).sum(axis=-1), 0.0)


def normalise(cam: np.ndarray) -> np.ndarray:
    m = cam.max()
    return cam / m if m > 0 else np.zeros_like(cam)


def r(v, nd=7):
    """Round floats (recursively) for JSON."""
    if isinstance(v, np.ndarray):
        return r(v.tolist(), nd)
    if isinstance(v, (list, tuple)):
        return [r(x, nd) for x in v]
    if isinstance(v, (float, np.floating)):
        return float(f"{float(v):.{nd}g}")
    return v


def ort_session(path_or_bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path_or_bytes, so, providers=["CPUExecutionProvider"])


def run_ort(sess, x: np.ndarray) -> dict:
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {"input": x})))


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path, help="use this already downloaded wheel")
    ap.add_argument("--no-assets", action="store_true", help="do not copy JPEGs to assets/chest-xray")
    ap.add_argument("--allow-other-versions", action="store_true")
    ap.add_argument("--model-inputs-only", action="store_true",
                    help="only (re)write gradcam-inputs/ from assets/chest-xray, checked against reference.json")
    args = ap.parse_args()

    if args.model_inputs_only:
        recorded = json.loads(OUT_REFERENCE.read_text())
        expected = {m["file"]: m["input_sha256"] for m in recorded["images"]}
        save_model_inputs(sorted(ASSET_DIR.glob("*.jpeg")), expected)
        return

    versions = check_versions(strict=not args.allow_other_versions)
    print("toolchain:", versions, flush=True)

    import warnings

    import keras
    import onnx
    from keras.applications.xception import preprocess_input

    with tempfile.TemporaryDirectory(prefix="hilum-convert-") as tmp:
        tmp = Path(tmp)
        wheel = fetch_wheel(tmp, args.wheel.resolve() if args.wheel else None)
        wheel_sha = sha256_file(wheel)
        keras_path, jpegs = extract(wheel, tmp / "x")
        keras_sha = sha256_file(keras_path)
        print(f"wheel {wheel.name} sha256 {wheel_sha}\nkeras sha256 {keras_sha}", flush=True)

        # ---- model and conversion
        model = load_original(keras_path)
        export_model = build_export_model(model)
        fp32 = convert_to_onnx(export_model)
        bad = huge_slices(fp32)
        if bad:
            sys.exit(f"export contains Slice nodes with huge/dynamic bounds: {bad}")
        with warnings.catch_warnings():  # "the float32 number ... will be truncated to 1e-07"
            warnings.simplefilter("ignore", UserWarning)
            shipped = weights_to_fp16(fp32, FP32_KEEP_MAX_ELEMENTS)
            all16 = weights_to_fp16(fp32, 0)
        onnx.checker.check_model(shipped, full_check=True)
        OUT_MODEL.write_bytes(shipped.SerializeToString())
        size = OUT_MODEL.stat().st_size
        print(f"wrote {OUT_MODEL} ({size} bytes)", flush=True)
        if size > MAX_MODEL_BYTES:
            sys.exit(f"model.onnx is {size} bytes > {MAX_MODEL_BYTES}")

        sess = ort_session(str(OUT_MODEL))  # the file as written
        variants = {  # name -> (session, serialized size)
            "fp32_export": (ort_session(fp32.SerializeToString()), fp32.ByteSize()),
            "all_fp16_weights": (ort_session(all16.SerializeToString()), all16.ByteSize()),
            "shipped": (sess, size),
        }
        io = {
            "input": {"name": sess.get_inputs()[0].name, "shape": sess.get_inputs()[0].shape,
                      "dtype": sess.get_inputs()[0].type},
            "outputs": [{"name": o.name, "shape": o.shape, "dtype": o.type} for o in sess.get_outputs()],
        }
        print("ONNX I/O:", io, flush=True)
        op_types = sorted({n.op_type for n in shipped.graph.node})

        # ---- preprocessing (and a cross-check against keras.utils.load_img)
        xs, image_meta = [], []
        for p in jpegs:
            x = preprocess(p)
            ref = preprocess_input(keras.utils.img_to_array(
                keras.utils.load_img(str(p), target_size=(IMG_SIZE, IMG_SIZE)), dtype="float32"))
            if not np.array_equal(x, np.asarray(ref, np.float32)):
                sys.exit(f"preprocessing differs from keras load_img for {p.name}")
            with Image.open(p) as im:
                src_size, src_mode = list(im.size), im.mode
            xs.append(x)
            image_meta.append({"file": p.name, "sha256": sha256_file(p), "source_size_wh": src_size,
                               "source_mode": src_mode, "label": label_from_name(p.name),
                               "input_sha256": sha256_bytes(x.tobytes())})
        X = np.stack(xs).astype(np.float32)
        names = [m["file"] for m in image_meta]
        save_model_inputs(jpegs, {m["file"]: m["input_sha256"] for m in image_meta})
        labels = np.array([CLASSES.index(m["label"]) for m in image_meta])

        # ---- Keras: probabilities and Grad-CAM (class PNEUMONIA) for every image
        keras_logits = np.asarray(model(X, training=False), np.float32)
        keras_probs = softmax(keras_logits)
        keras_cams = []
        for i in range(len(X)):
            kcam, klogits = keras_gradcam(model, X[i], PNEUMONIA)
            if np.abs(klogits - keras_logits[i]).max() > 1e-4:
                sys.exit(f"Grad-CAM forward pass differs from model() for {names[i]}")
            keras_cams.append(kcam)

        # ---- ONNX Runtime CPU, batch 1, every variant
        outs = {k: [run_ort(s, X[i:i + 1]) for i in range(len(X))] for k, (s, _) in variants.items()}
        probs = {k: np.asarray([o["probabilities"][0] for o in v], np.float64) for k, v in outs.items()}
        cams = {k: [onnx_gradcam(o["features"][0], o["class_gradients"][0], PNEUMONIA) for o in v]
                for k, v in outs.items()}
        cam_diff = {k: np.array([np.abs(normalise(c) - normalise(kc)).max() for c, kc in zip(v, keras_cams)])
                    for k, v in cams.items()}
        onnx_probs = probs["shipped"]
        batch_probs = run_ort(sess, X)["probabilities"].astype(np.float64)
        batch_vs_single = float(np.abs(batch_probs - onnx_probs).max())

        images = []
        for i, m in enumerate(image_meta):
            kp, op = keras_probs[i], onnx_probs[i]
            images.append({
                **m,
                "keras_logits": r(keras_logits[i]),
                "keras_probabilities": r(kp),
                "onnx_probabilities": r(op),
                "max_abs_diff": r(np.abs(kp - op).max(), 4),
                "keras_prediction": CLASSES[int(kp[1] >= 0.5)],
                "onnx_prediction": CLASSES[int(op[1] >= 0.5)],
            })

        def acc(pr):
            thr = (pr[:, 1] >= 0.5).astype(int)
            arg = pr.argmax(axis=1)
            return {"threshold_0.5_on_p_pneumonia": {"correct": int((thr == labels).sum()), "total": len(labels),
                                                     "accuracy": r((thr == labels).mean(), 4)},
                    "argmax": {"correct": int((arg == labels).sum()), "total": len(labels),
                               "accuracy": r((arg == labels).mean(), 4)}}

        def confusion(pr):
            pred = (pr[:, 1] >= 0.5).astype(int)
            return {"true_NORMAL_pred_NORMAL": int(((labels == 0) & (pred == 0)).sum()),
                    "true_NORMAL_pred_PNEUMONIA": int(((labels == 0) & (pred == 1)).sum()),
                    "true_PNEUMONIA_pred_NORMAL": int(((labels == 1) & (pred == 0)).sum()),
                    "true_PNEUMONIA_pred_PNEUMONIA": int(((labels == 1) & (pred == 1)).sum())}

        def top1(pr):
            return f"{int((keras_probs.argmax(1) == pr.argmax(1)).sum())}/{len(X)}"

        summary = {
            "max_abs_prob_diff_keras_vs_onnx": r(np.abs(keras_probs - onnx_probs).max(), 4),
            "top1_agreement": top1(onnx_probs),
            "keras_accuracy": acc(keras_probs),
            "onnx_accuracy": acc(onnx_probs),
            "keras_confusion_threshold_0.5": confusion(keras_probs),
            "onnx_confusion_threshold_0.5": confusion(onnx_probs),
            "onnx_batch16_vs_batch1_max_abs_diff": r(batch_vs_single, 4),
        }
        variant_info = {
            k: {"bytes": n,
                "max_abs_prob_diff_vs_keras": r(np.abs(keras_probs - probs[k]).max(), 4),
                "top1_agreement": top1(probs[k]),
                "gradcam_pneumonia_max_abs_diff_normalised_all16": r(cam_diff[k].max(), 4),
                "gradcam_pneumonia_median_abs_diff_normalised_all16": r(np.median(cam_diff[k]), 4)}
            for k, (_, n) in variants.items()
        }
        variant_info["fp32_export"]["description"] = "tf2onnx output, float32 weights (not shipped: 84 MB)"
        variant_info["all_fp16_weights"]["description"] = "every float initializer float16 + Cast (not shipped)"
        variant_info["shipped"]["description"] = (
            f"model.onnx: float initializers with > {FP32_KEEP_MAX_ELEMENTS} elements float16 + Cast, "
            "the rest float32; float32 computation")
        print(json.dumps(summary, indent=1), json.dumps(variant_info, indent=1), flush=True)

        # ---- Grad-CAM references (class PNEUMONIA)
        cam_refs = []
        for fname in GRADCAM_IMAGES:
            i = names.index(fname)
            kcam, ocam = keras_cams[i], cams["shipped"][i]
            cam_refs.append({
                "file": fname, "label": label_from_name(fname),
                "keras_p_pneumonia": r(keras_probs[i, 1]),
                "keras_cam_raw": r(kcam), "keras_cam_normalised": r(normalise(kcam)),
                "onnx_cam_raw": r(ocam), "onnx_cam_normalised": r(normalise(ocam)),
                "max_abs_diff_normalised": r(cam_diff["shipped"][i], 4),
                "max_abs_diff_raw": r(np.abs(kcam - ocam).max(), 4),
                "fp32_export_max_abs_diff_normalised": r(cam_diff["fp32_export"][i], 4),
            })
        worst = float(max(cam_diff["shipped"][names.index(f)] for f in GRADCAM_IMAGES))
        gradcam = {
            "class": "PNEUMONIA", "class_index": PNEUMONIA, "layer": FEATURE_LAYER, "grid": [5, 5],
            "keras_method": ("tf.GradientTape on the original Keras model: gradient of the PNEUMONIA logit "
                             "w.r.t. block14_sepconv2_act [5,5,2048]; w_k = spatial mean of the gradient; "
                             "cam = relu(sum_k w_k * A_k)"),
            "onnx_method": "cam = relu(sum_k class_gradients[c,k] / 25 * features[:,:,k])",
            "normalisation": "cam / max(cam) (all zeros if max is 0)",
            "layout": "cam[row][col], row 0 = top of the image, col 0 = left",
            "selection": "4 images the Keras model predicts as PNEUMONIA (3 true positives, 1 false positive)",
            "images": cam_refs,
            "max_abs_diff_normalised": r(worst, 4),
            "target_max_abs_diff_normalised": GRADCAM_TARGET,
            "within_target": bool(worst <= GRADCAM_TARGET),
            "all_images": [
                {"file": n, "keras_cam_max": r(keras_cams[i].max(), 4),
                 "max_abs_diff_normalised": r(cam_diff["shipped"][i], 4),
                 "all_fp16_weights_max_abs_diff_normalised": r(cam_diff["all_fp16_weights"][i], 4),
                 "fp32_export_max_abs_diff_normalised": r(cam_diff["fp32_export"][i], 4)}
                for i, n in enumerate(names)
            ],
        }
        print("Grad-CAM max abs diff (normalised) on the 4 references: %.3g" % worst, flush=True)

        reference = {
            "generated_by": "models/pneumonia-xception/convert.py",
            "tool_versions": versions,
            "source": {
                "package": PACKAGE, "version": PACKAGE_VERSION, "author": PACKAGE_AUTHOR,
                "wheel": wheel.name, "wheel_sha256": wheel_sha,
                "keras_file": KERAS_MEMBER, "keras_sha256": keras_sha,
                "keras_bytes": keras_path.stat().st_size,
            },
            "model": {
                "file": "models/pneumonia-xception/model.onnx",
                "sha256": sha256_file(OUT_MODEL), "bytes": size,
                "opset": OPSET, "ir_version": shipped.ir_version,
                "batch_dim": BATCH_DIM,
                "weights": (f"float16 for float initializers with more than {FP32_KEEP_MAX_ELEMENTS} elements "
                            "(each followed by Cast to float32), float32 for the rest; computation in float32"),
                "initializers": initializer_stats(shipped),
                "input": io["input"], "outputs": io["outputs"],
                "op_types": op_types,
                "slices_with_huge_end": bad,
            },
            "classes": CLASSES,
            "preprocessing": {
                "decode": "PIL; 8-bit grayscale converted to RGB (value replicated to R,G,B)",
                "resize": "150x150, PIL NEAREST, aspect ratio not kept (keras load_img target_size=(150,150))",
                "scale": "float32, x / 127.5 - 1",
                "layout": "NHWC [N,150,150,3]",
                "input_sha256": "SHA-256 of the float32 little-endian [150,150,3] tensor",
            },
            "onnx_runtime": {"providers": ["CPUExecutionProvider"], "intra_op_num_threads": 2, "batch": 1},
            "images": images,
            "summary": summary,
            "variants": variant_info,
            "gradcam": gradcam,
        }
        OUT_REFERENCE.write_text(json.dumps(reference, indent=1) + "\n")
        print(f"wrote {OUT_REFERENCE}", flush=True)

        # ---- assets
        if not args.no_assets:
            ASSET_DIR.mkdir(parents=True, exist_ok=True)
            for p in jpegs:
                shutil.copyfile(p, ASSET_DIR / p.name)
            rows = "\n".join(f"| `{m['file']}` | {m['label']} | `{m['sha256']}` |" for m in image_meta)
            (ASSET_DIR / "README.md").write_text(ASSET_README.format(wheel_sha256=wheel_sha, rows=rows))
            print(f"copied {len(jpegs)} JPEGs to {ASSET_DIR}", flush=True)


if __name__ == "__main__":
    main()
