#!/usr/bin/env python3
"""Runs an exported ONNX model in onnxruntime and compares its logits to the engine's.

Usage: onnx-check.py DIR, where DIR holds what tests/onnx_roundtrip.rs writes:
  model.onnx    the model (engine/onnx_export.rs)
  inputs.f32    the input images, float32 little-endian, NCHW
  logits.f32    the engine's logits for them, float32 little-endian
  check.json    {"inputs": [N, 3, S, S], "logits": [N, classes], "metadata": {key: value},
                 "tolerance": 1e-4}

Checks the graph's input and output names, the metadata, the logits of the whole batch and of
its first image alone (the batch dimension is symbolic), and prints the largest absolute
difference. Exit status: 0 when every logit is within the tolerance, 1 when one is not, 3 when
onnxruntime or numpy cannot be imported.
"""
import json
import sys
from pathlib import Path

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as error:
    print(
        f"onnxruntime is missing ({error}): run `make setup-python` "
        "(pip install onnxruntime numpy into target/python)",
        file=sys.stderr,
    )
    sys.exit(3)


def main(folder: Path) -> int:
    check = json.loads((folder / "check.json").read_text())
    inputs = np.fromfile(folder / "inputs.f32", dtype="<f4").reshape(check["inputs"])
    expected = np.fromfile(folder / "logits.f32", dtype="<f4").reshape(check["logits"])
    tolerance = check["tolerance"]

    session = ort.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    meta = session.get_modelmeta()
    print(f"onnxruntime {ort.__version__}, numpy {np.__version__}; producer {meta.producer_name!r}")
    problems = []
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != (["image"], ["logits"]):
        problems.append(f"inputs and outputs are {names}, not (['image'], ['logits'])")
    if meta.custom_metadata_map != check["metadata"]:
        problems.append(f"metadata {meta.custom_metadata_map} differs from {check['metadata']}")

    (logits,) = session.run(["logits"], {"image": inputs})
    (first,) = session.run(["logits"], {"image": inputs[:1]})
    if logits.shape != expected.shape:
        problems.append(f"logits have shape {logits.shape}, the engine's {expected.shape}")
    else:
        worst = float(np.max(np.abs(logits - expected)))
        alone = float(np.max(np.abs(first - expected[:1])))
        print(
            f"max abs difference: {worst:.3g} over {expected.size} logits "
            f"(first image alone: {alone:.3g}; largest logit {float(np.max(np.abs(expected))):.3g})"
        )
        if not worst <= tolerance or not alone <= tolerance:
            problems.append(f"logits differ by more than {tolerance}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
