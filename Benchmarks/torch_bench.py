#!/usr/bin/env python3
"""PyTorch side of the side-by-side benchmark: one case per process (so peak RSS is per case).

  torch_bench.py CASE H W --runs N --warmup N --threads T --effnet PTH --hed H5
CASE: effnet:LAST_BLOCK, vgg:LAYER, or zoomframe (default zoom frame, EfficientNet-Lite0 blocks.9).
Prints one JSON line: median_ms, min_ms, peak_rss_kib.
"""
import argparse
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "reference"))
from torch_models import effnet_fast, fold_effnet, load_effnet_state, vgg, vgg_weights  # noqa: E402


def channels_last(t):
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def make_step(forward):
    """One dream step: forward to the layer, gradient of 0.5·mean(act²) w.r.t. the input."""
    def step(x):
        x = x.detach().requires_grad_(True)
        a = forward(x)
        obj = 0.5 * (a * a).mean()
        (g,) = torch.autograd.grad(obj, x)
        return g
    return step


def gaussian_blur(x, sigma):
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma * sigma))
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, [r, r, 0, 0], mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, [0, 0, r, r], mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def zoom_frame(step, x, gen, octaves=3, iterations=5, scale=1.4, step_size=1.5, jitter=32, zoom=1.05):
    """The same frame our zoom renders: octave pyramid, jittered normalised steps, then the zoom warp."""
    bases = [x]
    for _ in range(octaves - 1):
        h, w = bases[-1].shape[-2:]
        bases.append(F.interpolate(gaussian_blur(bases[-1], max(0.5, scale - 1)), size=(round(h / scale), round(w / scale)),
                                   mode="bilinear", align_corners=False))
    detail = torch.zeros_like(bases[-1])
    for base in reversed(bases):
        if detail.shape != base.shape:
            detail = F.interpolate(detail, size=base.shape[-2:], mode="bilinear", align_corners=False)
        img = (base + detail).clamp(0, 255)
        for _ in range(iterations):
            oy, ox = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
            shifted = torch.roll(img, (oy, ox), (2, 3))
            g = step(channels_last(shifted))
            g = torch.roll(g, (-oy, -ox), (2, 3))
            img = (img + step_size / g.abs().mean().clamp_min(1e-8) * g).clamp(0, 255)
        detail = img - base
    theta = torch.tensor([[[1 / zoom, 0, 0], [0, 1 / zoom, 0]]], dtype=img.dtype)
    grid = F.affine_grid(theta, img.shape, align_corners=False)
    return F.grid_sample(img, grid, mode="bicubic", padding_mode="border", align_corners=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("h", type=int)
    ap.add_argument("w", type=int)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--effnet", required=True)
    ap.add_argument("--hed", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    kind, _, arg = a.case.partition(":")
    if kind in ("effnet", "zoomframe"):
        layers = {k: (channels_last(w), b) for k, (w, b) in fold_effnet(load_effnet_state(a.effnet)).items()}
        last = int(arg) if kind == "effnet" else 9
        step = make_step(lambda x: effnet_fast(layers, x, last))
    elif kind == "vgg":
        weights = [(n, b, channels_last(w), bias) for n, b, w, bias in vgg_weights(a.hed)]
        step = make_step(lambda x: vgg(weights, x, [arg])[arg])
    else:
        sys.exit(f"unknown case {a.case}")

    gen = torch.Generator().manual_seed(1)
    x = channels_last((128 + 40 * torch.randn(1, 3, a.h, a.w, generator=gen)).float())
    times = []
    with torch.no_grad():
        pass
    for i in range(a.warmup + a.runs):
        t = time.perf_counter()
        if kind == "zoomframe":
            zoom_frame(step, x.contiguous(), gen)
        else:
            step(x)
        ms = (time.perf_counter() - t) * 1000
        if i >= a.warmup:
            times.append(ms)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
