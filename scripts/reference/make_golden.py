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

import h5py
import numpy as np
import torch
import torch.nn.functional as F

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


# ---------------------------------------------------------------- EfficientNet-Lite0
def same_pad(x, k, s):
    ih, iw = x.shape[-2:]
    ph = max((-(-ih // s) - 1) * s + k - ih, 0)
    pw = max((-(-iw // s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def bn(x, sd, p, eps=1e-3):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, eps)


def effnet(sd, img, wanted):
    acts = {}
    x = (img - 127.0) / 128.0
    x = F.relu6(bn(F.conv2d(same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), sd, "_bn0"))
    acts["stem"] = x
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
    for i, s in enumerate(strides):
        p = f"_blocks.{i}."
        inp = x
        if p + "_expand_conv.weight" in sd:
            x = F.relu6(bn(F.conv2d(x, sd[p + "_expand_conv.weight"]), sd, p + "_bn0"))
        wd = sd[p + "_depthwise_conv.weight"]
        k = wd.shape[-1]
        x = F.relu6(bn(F.conv2d(same_pad(x, k, s), wd, stride=s, groups=wd.shape[0]), sd, p + "_bn1"))
        x = bn(F.conv2d(x, sd[p + "_project_conv.weight"]), sd, p + "_bn2")
        if s == 1 and inp.shape[1] == x.shape[1]:
            x = x + inp
        acts[f"blocks.{i}"] = x
    x = F.relu6(bn(F.conv2d(x, sd["_conv_head.weight"]), sd, "_bn1"))
    acts["head"] = x
    x = x.mean(dim=(2, 3))
    acts["fc"] = F.linear(x, sd["_fc.weight"], sd["_fc.bias"])[:, :, None, None]
    return {k: acts[k] for k in wanted}


# ---------------------------------------------------------------- VGG16 (HED)
def vgg(h5path, img, wanted):
    f = h5py.File(h5path, "r")
    mean = torch.tensor([104.00699, 116.66877, 122.67892]).view(1, 3, 1, 1)
    x = img[:, [2, 1, 0]] - mean
    acts = {}
    for b, n in enumerate([2, 2, 3, 3, 3]):
        if b > 0:
            # Keras MaxPooling2D(2, 2, padding="same"): odd sizes pad one at the bottom/right with -inf.
            ph, pw = x.shape[2] % 2, x.shape[3] % 2
            x = F.max_pool2d(F.pad(x, [0, pw, 0, ph], value=-float("inf")), 2, 2)
        for j in range(n):
            g = f[f"block{b + 1}/layers/conv2d{'' if j == 0 else '_' + str(j)}/vars"]
            w = torch.from_numpy(np.array(g["0"])).permute(3, 2, 0, 1).contiguous()
            x = F.relu(F.conv2d(x, w, torch.from_numpy(np.array(g["1"])), padding=1))
            acts[f"block{b + 1}_conv{j + 1}"] = x
    return {k: acts[k] for k in wanted}


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


def main():
    effnet_pth, hed_h5 = Path(sys.argv[1]), Path(sys.argv[2])
    sd = torch.load(effnet_pth, map_location="cpu", weights_only=False)
    sd = {k: v.float() for k, v in sd.items() if v.dtype == torch.float32}
    run("efficientnet-lite0", lambda img, wanted: effnet(sd, img, wanted), 75, 97,
        ["stem", "blocks.0", "blocks.4", "blocks.10", "blocks.15", "fc"], "blocks.10")
    run("vgg16-hed", lambda img, wanted: vgg(hed_h5, img, wanted), 37, 51,
        ["block1_conv2", "block3_conv3", "block4_conv3"], "block4_conv3")


if __name__ == "__main__":
    main()
