#!/usr/bin/python3
"""Convert official ctPred PyTorch state dicts (.pt) to the HDF5 layout `scpx ctpred predict` reads.

    convert_ctpred_pt.py OUT.h5 model.pt                       # one model, tensors at the root
    convert_ctpred_pt.py OUT.h5 Tcells=t.pt Bcells=b.pt        # one group per cell type + /cell_types
    options: --head linear|bounded (stored as the `head` attribute), --dtype float32|float64

Accepted inputs: a bare state dict, a full pickled module (its .state_dict() is used), or a
checkpoint dict with 'state_dict' / 'model_state_dict'; a 'module.' prefix (DataParallel) is
dropped. torch's state dict lists the shared hidden layer once per use (net.3, net.6, net.9):
identical duplicates are accepted and written as they are (scpx reads them as one tied layer);
blocks that differ give an untied model (`--untied` is then implied when training from it).
Needs python3-torch and python3-h5py (Debian).
"""
import argparse
import re
import sys

import h5py
import numpy as np
import torch

from ctpred_names import cell_type_link  # scripts/ctpred_names.py


def load_state_dict(path):
    obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
    if not isinstance(obj, dict) or not obj:
        sys.exit(f"ERROR: {path}: not a state dict (got {type(obj).__name__})")
    out = {}
    for k, v in obj.items():
        name = k[len("module."):] if k.startswith("module.") else k
        if not torch.is_tensor(v):
            continue
        out[name] = v.detach().cpu().numpy()
    return out


def check_model(path, sd):
    if "net.0.weight" not in sd:
        sys.exit(f"ERROR: {path}: no 'net.0.weight' (keys: {', '.join(sorted(sd)[:12])})")
    linear = sorted(int(m.group(1)) for k in sd for m in [re.fullmatch(r"net\.(\d+)\.weight", k)] if m)
    hidden = sd["net.0.weight"].shape[0]
    for idx in linear:
        w = sd[f"net.{idx}.weight"]
        b = sd.get(f"net.{idx}.bias")
        if b is None:
            sys.exit(f"ERROR: {path}: net.{idx}.weight has no bias")
        if idx not in (0, linear[-1]) and w.shape != (hidden, hidden):
            sys.exit(f"ERROR: {path}: net.{idx}.weight has shape {w.shape}, expected ({hidden}, {hidden})")
    if sd[f"net.{linear[-1]}.weight"].shape[0] != 1:
        sys.exit(f"ERROR: {path}: the last Linear net.{linear[-1]} does not have one output")
    blocks = linear[1:-1]
    tied = all(np.array_equal(sd[f"net.{i}.weight"], sd[f"net.{blocks[0]}.weight"]) and
               np.array_equal(sd[f"net.{i}.bias"], sd[f"net.{blocks[0]}.bias"]) for i in blocks)
    return linear, tied


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("models", nargs="+", help="model.pt or NAME=model.pt")
    ap.add_argument("--head", choices=["linear", "bounded"], default="linear")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    a = ap.parse_args()
    named = [m.split("=", 1) if "=" in m else (None, m) for m in a.models]
    if len(named) > 1 and any(n is None for n, _ in named):
        sys.exit("ERROR: with several models, name each one: NAME=model.pt")
    tmp = a.out + ".tmp"
    with h5py.File(tmp, "w") as f:
        names = []
        for name, path in named:
            sd = load_state_dict(path)
            linear, tied = check_model(path, sd)
            grp = f if name is None else f.require_group(cell_type_link(name))
            for idx in linear:
                for part in ("weight", "bias"):
                    grp[f"net.{idx}.{part}"] = sd[f"net.{idx}.{part}"].astype(a.dtype)
            grp.attrs["head"] = a.head
            grp.attrs["tied"] = int(tied)
            names.append(name)
            print(f"{path}: {len(linear)} Linear layers, d_in {sd['net.0.weight'].shape[1]}, "
                  f"hidden {sd['net.0.weight'].shape[0]}, {'shared' if tied else 'untied'} hidden layer")
        if names[0] is not None:
            f["cell_types"] = np.array(names, dtype=h5py.string_dtype())
    import os
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
