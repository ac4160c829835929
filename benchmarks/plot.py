"""Plot suboptimality against time from a results JSON written by run.py.

    python benchmarks/plot.py benchmarks/results/results.json [out.png]

One panel per problem (and BLAS-thread setting): each solver's tol-ladder runs as
(median fit time, relative suboptimality) points joined in ladder order; ours in
solid lines, scikit-learn's dashed, glum's dotted. Needs matplotlib.
"""

import json
import math
import sys
from pathlib import Path

FLOOR = 1e-16  # suboptimality 0 (at or below F*) is drawn here


def plot_results(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in results["problems"] if p.get("solvers")]
    if not panels:
        return None
    ncol = min(3, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 4.0 * nrow), squeeze=False)
    from matplotlib.ticker import NullFormatter

    styles = {"ours": "-", "sklearn": "--", "glum": ":"}
    keys = []
    for p in panels:
        keys += [k for k in p["solvers"] if k not in keys]
    cmap = plt.get_cmap("tab20")
    colors = {k: cmap(i % 20) for i, k in enumerate(keys)}
    levels = results["meta"].get("levels", [1e-4, 1e-6, 1e-8])
    for ax, p in zip(axes.flat, panels):
        for key, e in p["solvers"].items():
            pts = [(r["median_time"], max(r["subopt"], FLOOR)) for r in e.get("runs", [])
                   if r.get("median_time") is not None and r.get("subopt") is not None]
            if not pts:
                continue
            xs, ys = zip(*pts)
            ax.plot(xs, ys, styles.get(e["side"], "-"), marker="o", ms=3, lw=1.2,
                    color=colors[key], label=key.replace("sklearn:", "sk:"))
        for lv in levels:
            ax.axhline(lv, color="0.8", lw=0.8, zorder=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        lo, hi = ax.get_xlim()
        if hi / lo > 10:  # with a major tick per decade, minor labels only crowd
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(FLOOR / 2, 10)
        ax.set_title(f"{p['name']} ({p.get('blas_threads')} thr)", fontsize=10)
        ax.set_xlabel("median fit time (s)")
        ax.set_ylabel("(F - F*) / |F*|")
        ax.legend(fontsize=6.5, ncol=2)
        ax.grid(True, which="major", lw=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    meta = results["meta"]
    fig.suptitle(f"sklearn_hessian vs scikit-learn {meta['versions']['sklearn']} "
                 f"({'quick' if meta['quick'] else 'full'}, size {meta['size']}, "
                 f"median of {meta['repeats']})", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    src = Path(sys.argv[1])
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else src.with_suffix(".png")
    print(plot_results(json.loads(src.read_text()), dst))
