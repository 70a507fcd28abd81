"""libjpeg-turbo's decode alone, from Python's ctypes: what TJFLAG_FASTUPSAMPLE and TJFLAG_FASTDCT save
and what they change in the final crops, and how long a decode at 1/2, 1/4 and 1/8 takes (at 1/8 the
IDCT, upsampling and colour conversion have almost nothing left to do, so that time is mostly the
Huffman decoding, which neither scaling nor a region decode skips).

Each image is decoded into a reused buffer, five passes over the first N files, CPU time per image
(median pass). Crops: one box per image, drawn as torchvision's RandomResizedCrop draws them, taken
from each flag's decode and resized to 224 by PIL, compared with those of the accurate decode.

Usage: /usr/bin/python3 scripts/bench/turbo_flags.py DIR [N]   (DIR as made by MakeImageFolder.java; N 200)
"""
import ctypes
import glob
import math
import random
import sys
import time

import numpy as np
from PIL import Image

FLAGS = {"none (PIL's)": 0, "FASTUPSAMPLE": 256, "FASTDCT": 2048, "both": 256 | 2048}
PASSES = 5

tj = ctypes.CDLL("libturbojpeg.so.0")
tj.tjInitDecompress.restype = ctypes.c_void_p
tj.tjDecompressHeader3.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong] + [ctypes.POINTER(ctypes.c_int)] * 4
tj.tjDecompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p] + [ctypes.c_int] * 5
handle = tj.tjInitDecompress()


def size(b):
    w, h, sub, cs = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    if tj.tjDecompressHeader3(handle, b, len(b), ctypes.byref(w), ctypes.byref(h), ctypes.byref(sub), ctypes.byref(cs)) != 0:
        raise ValueError("not a JPEG TurboJPEG reads")
    return w.value, h.value


def decode(b, flags=0, d=1, out=None):
    w, h = size(b)
    sw, sh = (w + d - 1) // d, (h + d - 1) // d
    if out is None or out.shape != (sh, sw, 3):
        out = np.empty((sh, sw, 3), np.uint8)
    if tj.tjDecompress2(handle, b, len(b), out.ctypes.data, sw, 0, sh, 0, flags) != 0:
        raise ValueError("undecodable")
    return out


def cpu_ms(data, **kw):
    times = []
    for _ in range(PASSES):
        t0 = time.process_time()
        for b in data:
            decode(b, **kw)
        times.append((time.process_time() - t0) / len(data) * 1e3)
    return sorted(times)[PASSES // 2]


def box(rng, W, H):
    for _ in range(10):
        target = W * H * rng.uniform(0.08, 1.0)
        ar = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = int(round(math.sqrt(target * ar))), int(round(math.sqrt(target / ar)))
        if 0 < w <= W and 0 < h <= H:
            return rng.randint(0, W - w), rng.randint(0, H - h), w, h
    return 0, 0, W, H


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 200
    files = sorted(glob.glob(sys.argv[1] + "/train/*/*.JPEG"))[:n]
    data = [open(f, "rb").read() for f in files]
    rng = random.Random(1)
    diff = {name: [0, 0, 0] for name in FLAGS}
    for b in data:
        ref = decode(b)
        x, y, w, h = box(rng, ref.shape[1], ref.shape[0])
        crops = {}
        for name, flags in FLAGS.items():
            img = Image.fromarray(decode(b, flags))
            crops[name] = np.asarray(img.crop((x, y, x + w, y + h)).resize((224, 224), Image.BILINEAR)).astype(int)
        for name in FLAGS:
            d = np.abs(crops[name] - crops["none (PIL's)"])
            diff[name][0] += int(d.sum())
            diff[name][1] += d.size
            diff[name][2] = max(diff[name][2], int(d.max()))
    print(f"{len(data)} files; decode CPU ms per image (median of {PASSES} passes); final 224 crops against the accurate decode's")
    for name, flags in FLAGS.items():
        print(f"  {name:14s} {cpu_ms(data, flags=flags):.3f} ms   mean difference {diff[name][0] / diff[name][1]:.3f} levels,"
              f" largest {diff[name][2]}")
    for d in (1, 2, 4, 8):
        print(f"  scaled 1/{d}      {cpu_ms(data, d=d):.3f} ms")


if __name__ == "__main__":
    main()
