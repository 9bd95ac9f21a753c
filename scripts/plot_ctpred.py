#!/usr/bin/python3
"""Predicted vs observed expression percentile on the test genes of a `scpx ctpred train` output.

    plot_ctpred.py W.h5 PREFIX [--best]      # writes PREFIX.<cell type>.png (PREFIX.png for one model)

Uses /test_pred (final weights) or /test_pred_best (--best) against /test_y, one PNG per cell type,
with Pearson and Spearman r in the title. Needs python3-matplotlib and python3-h5py (Debian).
"""
import argparse

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ctpred_names import cell_type_link  # scripts/ctpred_names.py


def ranks(v):
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    sv = v[order]
    i = 0
    while i < len(v):
        j = i + 1
        while j < len(v) and sv[j] == sv[i]:
            j += 1
        r[order[i:j]] = 0.5 * (i + 1 + j)
        i = j
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("prefix")
    ap.add_argument("--best", action="store_true", help="use the best-validation checkpoint's predictions")
    a = ap.parse_args()
    with h5py.File(a.weights, "r") as f:
        groups = [("", f)] if "test_pred" in f else [(n, f[cell_type_link(n)]) for n in
                                                     (m.decode() if isinstance(m, bytes) else m
                                                      for m in f["cell_types"][()])]
        for name, g in groups:
            pred = np.asarray(g["test_pred_best" if a.best else "test_pred"][()], dtype=float)
            obs = np.asarray(g["test_y"][()], dtype=float)
            r = np.corrcoef(pred, obs)[0, 1]
            rho = np.corrcoef(ranks(pred), ranks(obs))[0, 1]
            fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
            ax.scatter(obs, pred, s=4, alpha=0.4, linewidths=0)
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
            ax.set_xlabel("observed percentile (test genes)")
            ax.set_ylabel("predicted")
            ax.set_title(f"{name or 'ctPred'}: Pearson r {r:.3f}, Spearman r {rho:.3f}\n"
                         f"{len(obs)} test genes, {'best-val' if a.best else 'final'} weights", fontsize=9)
            fig.tight_layout()
            out = f"{a.prefix}.{cell_type_link(name)}.png" if name else f"{a.prefix}.png"
            fig.savefig(out)
            plt.close(fig)
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
