#!/usr/bin/env python3
"""Independent reference for dreamvideo's golden tests.

Builds EfficientNet-Lite0 and the VGG16 (HED) trunk in PyTorch straight from the pinned source files
(torch.load for the .pth, h5py for the Keras .h5) — sharing no code with the Swift implementation — and
writes, for a fixed deterministic input, chosen layers' activations and the input gradient of
0.5·mean(act²) as safetensors fixtures under Tests/DreamEngineTests/Fixtures.

Run it with scripts/reference/make_golden.sh, which creates a venv with torch, numpy and h5py.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch

from torch_models import effnet, load_effnet_state, vgg, vgg_weights

torch.set_grad_enabled(True)
torch.set_num_threads(2)
OUT = Path(__file__).resolve().parents[2] / "Tests" / "DreamEngineTests" / "Fixtures"


def write_safetensors(path, arrays, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k], dtype="<f4")
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print("wrote", path, f"{path.stat().st_size} bytes")


def test_input(h, w):
    """RGB 0–255, smooth and structured, identical on both sides (stored in the fixture anyway)."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    img = 127.5 + 90 * np.sin(0.23 * x + 0.11 * y + 1.7 * c) * np.cos(0.07 * x - 0.19 * y + 0.5 * c)
    return img.astype(np.float32)


def run(name, forward, h, w, layers, objective_layer):
    img_np = test_input(h, w)
    img = torch.from_numpy(img_np)[None].requires_grad_(True)
    acts = forward(img, layers + [objective_layer])
    a = acts[objective_layer]
    obj = 0.5 * (a.double() ** 2).mean()
    obj.backward()
    arrays = {"input": img_np, "objective": np.array([obj.item()], dtype=np.float32),
              "grad": img.grad[0].numpy()}
    for k in layers:
        arrays["act." + k] = acts[k][0].detach().numpy()
    write_safetensors(OUT / f"golden-{name}.safetensors", arrays,
                      {"objective_layer": objective_layer, "layers": ",".join(layers),
                       "reference": f"torch {torch.__version__}", "objective_value": repr(obj.item())})


def run_tiled(name, forward, h, w, tile, roll, objective_layer):
    """The input gradient as a dream step computes it on a picture larger than a tile: the picture rolled by
    `roll` (numpy's convention), split evenly into ceil(h/tile) × ceil(w/tile) tiles (tile ty spans
    h*ty//ny … h*(ty+1)//ny), each tile's own 0.5·mean(act²) differentiated alone and pasted, the gradient
    rolled back; the value is the tiles' objectives weighted by their share of the pixels."""
    img_np = test_input(h, w)
    rolled = np.roll(img_np, roll, axis=(1, 2))
    ny, nx = -(-h // tile), -(-w // tile)
    grad = np.zeros_like(img_np)
    total = 0.0
    for ty in range(ny):
        y0, y1 = h * ty // ny, h * (ty + 1) // ny
        for tx in range(nx):
            x0, x1 = w * tx // nx, w * (tx + 1) // nx
            part = torch.from_numpy(np.ascontiguousarray(rolled[:, y0:y1, x0:x1]))[None].requires_grad_(True)
            a = forward(part, [objective_layer])[objective_layer]
            obj = 0.5 * (a.double() ** 2).mean()
            obj.backward()
            grad[:, y0:y1, x0:x1] = part.grad[0].numpy()
            total += obj.item() * (y1 - y0) * (x1 - x0) / (h * w)
    grad = np.roll(grad, (-roll[0], -roll[1]), axis=(1, 2))
    write_safetensors(OUT / f"golden-tiled-{name}.safetensors",
                      {"input": img_np, "objective": np.array([total], dtype=np.float32), "grad": grad},
                      {"objective_layer": objective_layer, "tile": str(tile), "roll": f"{roll[0]},{roll[1]}",
                       "tiles": f"{ny}x{nx}", "reference": f"torch {torch.__version__}", "objective_value": repr(total)})


def main():
    effnet_pth, hed_h5 = Path(sys.argv[1]), Path(sys.argv[2])
    sd = load_effnet_state(effnet_pth)
    # Through the engine's tiling: 3 × 3 tiles of a 150×170 picture rolled by (37, 101).
    run_tiled("efficientnet-lite0", lambda img, wanted: effnet(sd, img, wanted), 150, 170, 64, (37, 101), "blocks.10")
    if len(sys.argv) > 3 and sys.argv[3] == "--tiled-only":
        return
    vw = vgg_weights(hed_h5)
    run("efficientnet-lite0", lambda img, wanted: effnet(sd, img, wanted), 75, 97,
        ["stem", "blocks.0", "blocks.4", "blocks.10", "blocks.15", "fc"], "blocks.10")
    run("vgg16-hed", lambda img, wanted: vgg(vw, img, wanted), 37, 51,
        ["block1_conv2", "block3_conv3", "block4_conv3"], "block4_conv3")


if __name__ == "__main__":
    main()
