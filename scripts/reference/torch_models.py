"""PyTorch versions of dreamvideo's networks, built straight from the pinned source files.

Shared by the golden-value generator (make_golden.py) and the side-by-side benchmark
(Benchmarks/torch_bench.py). Independent of the Swift code: torch.load reads the .pth, h5py the .h5.
"""
import h5py
import numpy as np
import torch
import torch.nn.functional as F

EFFNET_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]
CAFFE_MEAN_BGR = [104.00699, 116.66877, 122.67892]


def same_pad(x, k, s):
    """TensorFlow "SAME" padding: the odd pixel goes to the bottom/right."""
    ih, iw = x.shape[-2:]
    ph = max((-(-ih // s) - 1) * s + k - ih, 0)
    pw = max((-(-iw // s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def load_effnet_state(pth):
    sd = torch.load(pth, map_location="cpu", weights_only=False)
    return {k: v.float() for k, v in sd.items() if v.dtype == torch.float32}


def bn(x, sd, p, eps=1e-3):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, eps)


def effnet(sd, img, wanted):
    """Reference forward with explicit batch norms; returns the wanted activations by name."""
    acts = {}
    x = (img - 127.0) / 128.0
    x = F.relu6(bn(F.conv2d(same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), sd, "_bn0"))
    acts["stem"] = x
    last = max(int(w.split(".")[1]) if w.startswith("blocks.") else 99 for w in wanted)
    for i, s in enumerate(EFFNET_STRIDES):
        if i > last:
            break
        p = f"_blocks.{i}."
        inp = x
        if p + "_expand_conv.weight" in sd:
            x = F.relu6(bn(F.conv2d(x, sd[p + "_expand_conv.weight"]), sd, p + "_bn0"))
        wd = sd[p + "_depthwise_conv.weight"]
        x = F.relu6(bn(F.conv2d(same_pad(x, wd.shape[-1], s), wd, stride=s, groups=wd.shape[0]), sd, p + "_bn1"))
        x = bn(F.conv2d(x, sd[p + "_project_conv.weight"]), sd, p + "_bn2")
        if s == 1 and inp.shape[1] == x.shape[1]:
            x = x + inp
        acts[f"blocks.{i}"] = x
    if last == 99:
        x = F.relu6(bn(F.conv2d(x, sd["_conv_head.weight"]), sd, "_bn1"))
        acts["head"] = x
        acts["fc"] = F.linear(x.mean(dim=(2, 3)), sd["_fc.weight"], sd["_fc.bias"])[:, :, None, None]
    return {k: acts[k] for k in wanted}


def vgg_weights(h5path):
    f = h5py.File(h5path, "r")
    out = []
    for b, n in enumerate([2, 2, 3, 3, 3]):
        for j in range(n):
            g = f[f"block{b + 1}/layers/conv2d{'' if j == 0 else '_' + str(j)}/vars"]
            w = torch.from_numpy(np.array(g["0"])).permute(3, 2, 0, 1).contiguous()
            out.append((f"block{b + 1}_conv{j + 1}", b, w, torch.from_numpy(np.array(g["1"]))))
    return out


def vgg(weights, img, wanted):
    mean = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    x = img[:, [2, 1, 0]] - mean
    acts, block = {}, 0
    last = max(wanted, key=lambda n: [w[0] for w in weights].index(n))
    for name, b, w, bias in weights:
        if b != block:
            # Keras MaxPooling2D(2, 2, padding="same"): odd sizes pad one at the bottom/right with -inf.
            ph, pw = x.shape[2] % 2, x.shape[3] % 2
            x = F.max_pool2d(F.pad(x, [0, pw, 0, ph], value=-float("inf")), 2, 2)
            block = b
        x = F.relu(F.conv2d(x, w, bias, padding=1))
        acts[name] = x
        if name == last:
            break
    return {k: acts[k] for k in wanted}


# ---------------------------------------------------------------- fast versions for benchmarking
def fold_effnet(sd):
    """Batch norms folded into the convolutions, as our engine does at load time."""
    def fold(wkey, bnp):
        w = sd[wkey]
        s = sd[bnp + ".weight"] / torch.sqrt(sd[bnp + ".running_var"] + 1e-3)
        return (w * s.view(-1, 1, 1, 1)).contiguous(), (sd[bnp + ".bias"] - sd[bnp + ".running_mean"] * s).contiguous()
    layers = {"stem": fold("_conv_stem.weight", "_bn0")}
    for i in range(16):
        p = f"_blocks.{i}."
        if p + "_expand_conv.weight" in sd:
            layers[p + "e"] = fold(p + "_expand_conv.weight", p + "_bn0")
        layers[p + "d"] = fold(p + "_depthwise_conv.weight", p + "_bn1")
        layers[p + "p"] = fold(p + "_project_conv.weight", p + "_bn2")
    return layers


def effnet_fast(layers, img, last_block):
    x = (img - 127.0) / 128.0
    w, b = layers["stem"]
    x = F.relu6(F.conv2d(same_pad(x, 3, 2), w, b, stride=2))
    for i, s in enumerate(EFFNET_STRIDES[: last_block + 1]):
        p = f"_blocks.{i}."
        inp = x
        if p + "e" in layers:
            x = F.relu6(F.conv2d(x, *layers[p + "e"]))
        w, b = layers[p + "d"]
        x = F.relu6(F.conv2d(same_pad(x, w.shape[-1], s), w, b, stride=s, groups=w.shape[0]))
        x = F.conv2d(x, *layers[p + "p"])
        if s == 1 and inp.shape[1] == x.shape[1]:
            x = x + inp
    return x
