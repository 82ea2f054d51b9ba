#!/usr/bin/env python3
"""Wideband PESQ (ITU-T P.862.2) of aligned 16 kHz WAV pairs.

Reads lines "REF DEG" on stdin, prints one JSON object per line: {"ref", "deg", "pesq"}
("pesq" is null when the pair cannot be scored, with "error" saying why).
"""
import json
import sys

import numpy as np
from pesq import pesq
from scipy.io import wavfile


def load(path):
    rate, data = wavfile.read(path)
    if rate != 16000:
        raise ValueError(f"{path}: {rate} Hz, expected 16000")
    if data.ndim > 1:
        data = data[:, 0]
    return data.astype(np.float32) / 32768.0


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    ref_path, deg_path = line.split(" ", 1)
    out = {"ref": ref_path, "deg": deg_path, "pesq": None}
    try:
        ref, deg = load(ref_path), load(deg_path)
        n = min(len(ref), len(deg))
        out["pesq"] = float(pesq(16000, ref[:n], deg[:n], "wb"))
    except Exception as err:  # noqa: BLE001 - report and go on with the next pair
        out["error"] = str(err)
    print(json.dumps(out), flush=True)
