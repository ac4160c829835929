"""Benchmark suite: time to reach a relative suboptimality, ours vs scikit-learn.

    python benchmarks/run.py                    # full sizes (long: see README.md)
    python benchmarks/run.py --quick            # reduced sizes, about a minute
    python benchmarks/run.py --problems a9a,w8a --repeats 5 --blas-threads 1,2

For every problem: a high-accuracy reference optimum F* (the best of our Newton and
scikit-learn's Newton solver at tol 1e-12, and of every run of the benchmark), then
each solver over a ladder of tolerances, ours and scikit-learn's interleaved, each
(solver, tol) run ``--repeats`` times (median time). The time a solver needs to reach
a relative suboptimality ``(F - F*) / |F*| <= level`` is the smallest median time
over its ladder runs whose result reaches the level. Results: a markdown table
(printed and written), a JSON file and a plot (when matplotlib is installed) in
``--out``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import problems as P  # noqa: E402
import solvers as S  # noqa: E402

LEVELS = (1e-4, 1e-6, 1e-8)
DEFAULT_OUT = HERE / "results"

# What a fit's time is measured with (--clock). "cpu" is the process's CPU time:
# with one BLAS thread every solver here runs on one core, so on an idle machine
# it equals the wall time, and on a shared one it does not count the time other
# processes hold the core (wall-clock timings there moved 2-5x between repeats).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = CLOCKS["wall"]


# --------------------------------------------------------------------------------------
# One fit
# --------------------------------------------------------------------------------------
def _n_iter(est):
    it = getattr(est, "n_iter_", None)
    if it is None:
        return None
    try:
        return int(np.max(np.asarray(it)))
    except (TypeError, ValueError):
        return None


class FitTimeout(BaseException):
    """Raised by SIGALRM inside a fit that ran past its time limit.

    A BaseException, so that no ``except Exception`` inside a solver swallows it.
    Solvers whose loop is in Python (ours, scipy's L-BFGS-B driver, scikit-learn's
    Newton solvers, sparse CG, LSQR) are interrupted between two iterations;
    compiled loops (SAG/SAGA) are not, so they are bounded by ``max_iter`` instead.
    """


def _on_alarm(signum, frame):
    raise FitTimeout()


def run_fit(spec, problem, tol, timeout=None, max_iter=None):
    """Fit once; time the fit only; evaluate F independently afterwards.

    Returns None when the fit ran past ``timeout`` seconds.
    """
    est = spec.make(problem, tol)
    if max_iter is not None:
        est.set_params(max_iter=max_iter)
    gc.collect(1)  # a full collection costs ~20 ms: once per problem is enough
    use_alarm = timeout is not None and hasattr(signal, "setitimer")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        previous = signal.signal(signal.SIGALRM, _on_alarm) if use_alarm else None
        try:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            gc.disable()  # as timeit does: no collector pauses inside the clock
            w0, t0 = time.perf_counter(), _clock()
            est.fit(problem.X, problem.y)
            elapsed, wall = _clock() - t0, time.perf_counter() - w0
        except FitTimeout:
            return None
        finally:
            gc.enable()
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
    W, b = P.coef_of(est)
    F = P.objective(problem.kind, problem.X, problem.y, W, b, problem.alpha)
    messages = sorted({f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught})
    return {
        "time": elapsed,
        "wall_time": wall,
        "F": F,
        "n_iter": _n_iter(est),
        "solver_": getattr(est, "solver_", None) if spec.side == "ours" else None,
        "warnings": messages,
        "converged": not any(w.category.__name__ == "ConvergenceWarning" for w in caught),
    }


# --------------------------------------------------------------------------------------
# The reference optimum
# --------------------------------------------------------------------------------------
def _fingerprint(name, size, seed, problem):
    X = problem.X
    h = hashlib.sha256()
    h.update(f"{name}|{size}|{seed}|{X.shape}|{problem.alpha!r}|{problem.kind}".encode())
    data = X.data if sp.issparse(X) else X
    h.update(np.float64(np.sum(data)).tobytes())
    h.update(np.float64(np.sum(np.asarray(data) ** 2)).tobytes())
    h.update(np.float64(np.sum(problem.y)).tobytes())
    return h.hexdigest()[:16]


def reference_optimum(problem, max_hessian, log=print):
    """``(F*, details)``: the best of the reference solvers at tol 1e-12."""
    best, details = math.inf, []
    for spec in S.reference_specs(problem, max_hessian):
        try:
            r = run_fit(spec, problem, S.REFERENCE_TOL)
        except Exception as exc:  # a reference solver may fail; the other one counts
            log(f"    reference {spec.key} failed: {exc!r}")
            details.append({"solver": spec.key, "error": repr(exc)})
            continue
        log(f"    reference {spec.key:24s} F = {r['F']:.17g}  ({r['time']:.2f} s, "
            f"{r['n_iter']} it{'' if r['converged'] else ', not converged'})")
        details.append({"solver": spec.key, "F": r["F"], "time": r["time"],
                        "n_iter": r["n_iter"], "converged": r["converged"]})
        best = min(best, r["F"])
    return best, details


def cached_reference(cache_path, key, compute):
    cache = {}
    if cache_path.exists():
        try:
            cache = json.loads(cache_path.read_text())
        except ValueError:
            cache = {}
    if key in cache:
        return cache[key]["F"], cache[key]["details"], True
    F, details = compute()
    cache[key] = {"F": F, "details": details}
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache, indent=1))
    return F, details, False


# --------------------------------------------------------------------------------------
# One problem: ladders (first pass), then repeats, ours and theirs interleaved
# --------------------------------------------------------------------------------------
def interleave(ours, theirs):
    """ours[0], theirs[0], ours[1], theirs[1], ..., then the longer list's tail."""
    out = []
    for i in range(max(len(ours), len(theirs))):
        if i < len(ours):
            out.append(ours[i])
        if i < len(theirs):
            out.append(theirs[i])
    return out


def subopt(F, F_star):
    return max(F - F_star, 0.0) / abs(F_star)


class Deadline:
    def __init__(self, seconds):
        self.end = None if seconds is None else time.monotonic() + seconds

    def passed(self):
        return self.end is not None and time.monotonic() > self.end


def bench_problem(problem, specs, F_ref, args, deadline, log=print):
    """Run every applicable solver's ladder, then the repeats; return the records."""
    deepest = min(LEVELS)
    runs = {}  # (key, tol) -> record
    order = []  # execution order of the first pass
    state = {}
    ladders = {spec.key: spec.ladder[::args.ladder_step] for spec in specs}
    for spec in specs:
        state[spec.key] = {"pos": 0, "active": True, "best": math.inf, "stall": 0}
    ours = [s for s in specs if s.side == "ours"]
    theirs = [s for s in specs if s.side != "ours"]
    sequence = interleave(ours, theirs)
    partial = False

    # First pass: walk the ladders in rounds, one rung per solver per round.
    while any(state[s.key]["active"] for s in sequence):
        for spec in sequence:
            st = state[spec.key]
            if not st["active"]:
                continue
            if deadline.passed():
                partial = True
                break
            ladder = ladders[spec.key]
            tol = ladder[st["pos"]]
            max_iter = None
            if not spec.interruptible and st.get("per_iter"):
                # A compiled loop cannot be interrupted: bound its iterations by the
                # per-iteration cost measured on the previous rung.
                max_iter = max(1, int(args.max_fit_time / st["per_iter"]))
                max_iter = min(max_iter, spec.make(problem, tol).max_iter)
            try:
                r = run_fit(spec, problem, tol, timeout=args.max_fit_time,
                            max_iter=max_iter)
            except Exception as exc:
                log(f"    {spec.key:24s} tol={tol}: ERROR {exc!r}")
                runs[(spec.key, tol)] = {"solver": spec.key, "side": spec.side,
                                         "name": spec.name, "tol": tol,
                                         "error": repr(exc),
                                         "trace": traceback.format_exc()[-2000:]}
                st["active"] = False
                continue
            if r is None:
                log(f"    {spec.key:24s} tol={tol!s:7s} stopped after "
                    f"{args.max_fit_time:g} s (--max-fit-time)")
                runs[(spec.key, tol)] = {"solver": spec.key, "side": spec.side,
                                         "name": spec.name, "tol": tol,
                                         "timeout": args.max_fit_time}
                st["active"] = False
                continue
            if r["n_iter"]:
                st["per_iter"] = r["time"] / r["n_iter"]
            so = subopt(r["F"], F_ref)
            rec = {"solver": spec.key, "side": spec.side, "name": spec.name, "tol": tol,
                   "times": [r["time"]], "Fs": [r["F"]], "n_iter": r["n_iter"],
                   "solver_": r["solver_"], "converged": r["converged"],
                   "warnings": r["warnings"], "max_iter": max_iter}
            runs[(spec.key, tol)] = rec
            order.append((spec, tol))
            log(f"    {spec.key:24s} tol={tol!s:7s} {r['time']:8.3f} s  subopt "
                f"{so:9.2e}  it {r['n_iter']}{'' if r['converged'] else '  (warned)'}")
            st["pos"] += 1
            # A ladder is abandoned after two rungs in a row that warned (max_iter
            # or another failure) without halving the best suboptimality; rungs
            # that converged without progress (loose tolerances met by the same
            # iterates) are no evidence of a stall.
            if so < st["best"] * 0.5:
                st["best"], st["stall"] = so, 0
            elif not r["converged"]:
                st["stall"] += 1
            if (so <= deepest or st["pos"] >= len(ladder) or st["stall"] >= 2
                    or r["time"] > args.max_fit_time):
                st["active"] = False
        if partial:
            break

    # Repeats: the same runs again, alternately in reverse order (so that no solver
    # always runs at the same position), skipping single runs that exceeded the
    # per-fit budget.
    for rep in range(1, args.repeats):
        if partial or deadline.passed():
            partial = True
            break
        todo = order if rep % 2 == 0 else order[::-1]
        for spec, tol in todo:
            rec = runs[(spec.key, tol)]
            if rec["times"][0] > args.max_fit_time:
                continue
            if deadline.passed():
                partial = True
                break
            try:
                r = run_fit(spec, problem, tol, timeout=3 * args.max_fit_time,
                            max_iter=rec.get("max_iter"))
            except Exception as exc:  # pragma: no cover - it ran once already
                log(f"    {spec.key} tol={tol}: ERROR on repeat {exc!r}")
                continue
            if r is None:  # pragma: no cover - it ran within the budget once
                continue
            rec["times"].append(r["time"])
            rec["Fs"].append(r["F"])
    return list(runs.values()), partial


def summarise(records, F_star):
    """Median times, suboptimality, and per solver the time to reach each level."""
    per_solver = {}
    for rec in records:
        if "error" in rec or "timeout" in rec:
            entry = per_solver.setdefault(rec["solver"], {"side": rec["side"],
                                                          "name": rec["name"], "runs": []})
            if "error" in rec:
                entry["error"] = rec["error"]
            else:
                entry["timeout"] = {"tol": rec["tol"], "after_s": rec["timeout"]}
            continue
        rec["median_time"] = float(np.median(rec["times"]))
        rec["F"] = float(max(rec["Fs"]))
        rec["subopt"] = subopt(rec["F"], F_star)
        entry = per_solver.setdefault(rec["solver"], {"side": rec["side"],
                                                      "name": rec["name"], "runs": []})
        entry["runs"].append(rec)
    for entry in per_solver.values():
        entry["levels"] = {}
        for level in LEVELS:
            times = [r["median_time"] for r in entry["runs"] if r["subopt"] <= level]
            entry["levels"][repr(level)] = min(times) if times else None
        subs = [r["subopt"] for r in entry["runs"]]
        entry["best_subopt"] = min(subs) if subs else None
    summary = {}
    for level in LEVELS:
        key = repr(level)

        def best(side, entries=per_solver):
            cands = [(e["levels"][key], k) for k, e in entries.items()
                     if e["side"] == side and e["levels"].get(key) is not None]
            return min(cands) if cands else (None, None)

        t_ours, s_ours = best("ours")
        t_sk, s_sk = best("sklearn")
        t_glum, s_glum = best("glum")
        auto = per_solver.get("ours:auto", {}).get("levels", {}).get(key)
        summary[key] = {
            "best_ours": s_ours, "best_ours_time": t_ours,
            "auto_time": auto,
            "best_sklearn": s_sk, "best_sklearn_time": t_sk,
            "best_glum": s_glum, "best_glum_time": t_glum,
            "ratio_best_ours": _ratio(t_ours, t_sk),
            "ratio_auto": _ratio(auto, t_sk),
        }
    return per_solver, summary


def _ratio(a, b):
    if a is None or b is None:
        return None
    return a / b


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------
def _fmt_t(t):
    if t is None:
        return "—"
    return f"{t:.3f}" if t < 10 else f"{t:.1f}"


def _fmt_ratio(r, a, b):
    if r is not None:
        return f"{r:.2f}"
    if a is not None and b is None:
        return "ours only"
    if a is None and b is not None:
        return "not reached"
    return "—"


def _short(key):
    return key.split(":", 1)[1] if key else "—"


def markdown(results):
    meta = results["meta"]
    lines = ["# sklearn_hessian benchmark results", ""]
    lines.append(
        f"- {meta['started']}; host {meta['host']} ({meta['cpu_count']} CPUs); "
        f"Python {meta['python']}; numpy {meta['versions']['numpy']}, scipy "
        f"{meta['versions']['scipy']}, scikit-learn {meta['versions']['sklearn']}, "
        f"sklearn_hessian {meta['versions']['sklearn_hessian']} "
        f"(commit {meta['git']}, source {meta.get('library_source_sha256', '?')})"
        + (f", glum {meta['versions']['glum']}" if meta["versions"].get("glum") else "")
    )
    lines.append(
        f"- mode: {'quick' if meta['quick'] else 'full'} (size {meta['size']}); "
        f"median of {meta['repeats']} runs per (solver, tol); BLAS/OpenMP threads "
        f"{meta['blas_threads']}; per-fit budget {meta['max_fit_time']} s"
        + (f"; tol ladders thinned to every {meta['ladder_step']}-th rung"
           if meta.get("ladder_step", 1) > 1 else "")
    )
    if meta.get("clock") == "cpu":
        lines.append("- fit times are process CPU times (`--clock cpu`; one BLAS "
                     "thread, so on an idle machine they equal wall-clock times)")
    lines.append(
        "- time in seconds to reach relative suboptimality (F - F*)/|F*| <= level: "
        "the smallest median fit time over the solver's tol ladder runs that reach it. "
        "Ratios are ours / best scikit-learn (below 1: ours faster). Timings were taken "
        "on a shared 2-core machine: absolute numbers are noisy, same-run interleaved "
        "ratios are the evidence."
    )
    lines.append("")
    for threads in meta["blas_threads"]:
        rows = [p for p in results["problems"] if p.get("blas_threads") == threads
                and "summary" in p]
        if not rows:
            continue
        lines.append(f"## Summary, {threads} BLAS thread(s)")
        lines.append("")
        lines.append("| problem | level | best ours | s | auto s | best scikit-learn | s "
                     "| best ours / sk | auto / sk |")
        lines.append("| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
        for p in rows:
            for level in LEVELS:
                s = p["summary"][repr(level)]
                lines.append(
                    f"| {p['name']} | {level:.0e} | {_short(s['best_ours'])} | "
                    f"{_fmt_t(s['best_ours_time'])} | {_fmt_t(s['auto_time'])} | "
                    f"{_short(s['best_sklearn'])} | {_fmt_t(s['best_sklearn_time'])} | "
                    f"{_fmt_ratio(s['ratio_best_ours'], s['best_ours_time'], s['best_sklearn_time'])} | "
                    f"{_fmt_ratio(s['ratio_auto'], s['auto_time'], s['best_sklearn_time'])} |"
                )
        lines.append("")
    lines.append("## Per problem")
    lines.append("")
    for p in results["problems"]:
        head = f"### {p['name']}, {p['blas_threads']} BLAS thread(s)"
        lines.append(head)
        lines.append("")
        if "skipped" in p:
            lines.append(f"Skipped: {p['skipped']}")
            lines.append("")
            continue
        lines.append(f"{p['description']}. F* = {p['F_star']:.15g} "
                     f"(reference {p['F_ref']:.15g}"
                     + (", from the cache" if p.get("reference_cached") else "")
                     + (f"; a benchmark run went {p['ref_gap']:.1e} below it"
                        if p.get("ref_gap", 0) > 1e-13 else "")
                     + (")" + ("; PARTIAL (time limit)" if p.get("partial") else "")))
        lines.append("")
        lines.append("| solver | 1e-4 | 1e-6 | 1e-8 | best subopt | ladder: tol -> time s, subopt, iterations |")
        lines.append("| --- | ---: | ---: | ---: | ---: | --- |")
        for key, e in p["solvers"].items():
            if "error" in e and not e["runs"]:
                lines.append(f"| {key} | error | | | | {e['error'][:120]} |")
                continue
            lv = [_fmt_t(e["levels"][repr(level)]) for level in LEVELS]
            ladder = "; ".join(
                (f"{r['tol']:.0e}" if r["tol"] is not None else "direct")
                + f" -> {_fmt_t(r['median_time'])}, {r['subopt']:.1e}, {r['n_iter']}"
                + ("" if r["converged"] else "!")
                for r in e["runs"]
            )
            if "timeout" in e:
                to = e["timeout"]
                ladder += ("; " if ladder else "") + (
                    f"{to['tol']:.0e}" if to["tol"] is not None else "direct"
                ) + f" -> stopped at {to['after_s']:g} s"
            bs = "—" if e["best_subopt"] is None else f"{e['best_subopt']:.1e}"
            lines.append(f"| {key} | {lv[0]} | {lv[1]} | {lv[2]} | {bs} | {ladder} |")
        for key, why in p.get("not_applicable", {}).items():
            lines.append(f"| {key} | n/a | | | | {why} |")
        lines.append("")
    lines.append("`!` after the iteration count: the fit warned (ConvergenceWarning or "
                 "another warning; see the JSON).")
    lines.append("")
    return "\n".join(lines)


def _meta(args, quick_size):
    import scipy
    import sklearn

    import sklearn_hessian

    versions = {"numpy": np.__version__, "scipy": scipy.__version__,
                "sklearn": sklearn.__version__,
                "sklearn_hessian": getattr(sklearn_hessian, "__version__", "?")}
    if S.glum_available():
        import glum

        versions["glum"] = getattr(glum, "__version__", "?")
    try:
        git = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain",
                                "--", "sklearn_hessian"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        git = git + ("+dirty" if dirty else "")
    except Exception:  # pragma: no cover - no git
        git = "?"
    # Others may edit the library while a long run goes on: fingerprint the source
    # that was imported, so that results can be matched to it.
    src = hashlib.sha256()
    pkg = Path(sklearn_hessian.__file__).resolve().parent
    for f in sorted(pkg.rglob("*.py")):
        src.update(f.relative_to(pkg).as_posix().encode())
        src.update(f.read_bytes())
    try:
        from threadpoolctl import threadpool_info

        pools = [{k: d.get(k) for k in ("user_api", "internal_api", "version",
                                         "num_threads", "architecture")}
                 for d in threadpool_info()]
    except Exception:  # pragma: no cover
        pools = []
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(), "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "versions": versions, "git": git,
        "library_source_sha256": src.hexdigest()[:16],
        "threadpools": pools, "quick": args.quick, "size": quick_size,
        "repeats": args.repeats, "blas_threads": args.blas_threads,
        "max_fit_time": args.max_fit_time, "max_hessian_size": args.max_hessian_size,
        "ladder_step": args.ladder_step, "clock": args.clock,
        "levels": list(LEVELS), "argv": sys.argv[1:],
    }


def _clean(obj):
    """JSON-safe: no inf / nan."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_reports(results, out, stem):
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(_clean(results), indent=1))
    (out / f"{stem}.md").write_text(markdown(results))


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="reduced sizes (--size 0.05 unless given), about a minute")
    ap.add_argument("--problems", default=None,
                    help=f"comma-separated subset of: {', '.join(P.PROBLEMS)}")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs per (solver, tol); the median time counts (default 3)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output folder (default benchmarks/results)")
    ap.add_argument("--blas-threads", default="1",
                    help="BLAS/OpenMP threads for everyone, or a comma list to run "
                         "each problem under each setting (default 1)")
    ap.add_argument("--size", type=float, default=None,
                    help="fraction of each problem's full size (default 1, --quick 0.05)")
    ap.add_argument("--max-fit-time", type=float, default=None,
                    help="a fit still running after this many seconds is stopped, and "
                         "its solver's ladder ends there (default 60 s, --quick 1 s)")
    ap.add_argument("--ladder-step", type=int, default=None,
                    help="use every N-th rung of the tol ladders (default 1, --quick 2)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="stop starting new fits after this many seconds (partial "
                         "results are kept and marked)")
    ap.add_argument("--max-hessian-size", type=int, default=4000,
                    help="exact-Hessian solvers (our newton, newton-cholesky, Ridge "
                         "cholesky, glum irls) are skipped on problems whose Hessian side "
                         "(p + 1) * k exceeds this (default 4000)")
    ap.add_argument("--solvers", default=None,
                    help="comma-separated subset of solver keys, e.g. "
                         "ours:newton,sklearn:lbfgs")
    ap.add_argument("--no-glum", action="store_true", help="leave glum out even if installed")
    ap.add_argument("--sag", action="store_true", help="also run LogisticRegression(sag)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--recompute-reference", action="store_true",
                    help="ignore the cached reference optima in --out")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="fit time as wall-clock (default) or process CPU time; "
                         "cpu needs --blas-threads 1 and is the one to use on a "
                         "shared machine")
    args = ap.parse_args(argv)
    args.blas_threads = [int(t) for t in str(args.blas_threads).split(",") if t.strip()]
    if args.clock == "cpu" and args.blas_threads != [1]:
        ap.error("--clock cpu counts every thread's time: use it with --blas-threads 1")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.ladder_step is None:
        args.ladder_step = 2 if args.quick else 1
    if args.ladder_step < 1:
        ap.error("--ladder-step must be at least 1")
    if args.max_fit_time is None:
        args.max_fit_time = 1.0 if args.quick else 60.0
    return args


def main(argv=None):
    args = parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    from threadpoolctl import threadpool_limits

    size = args.size if args.size is not None else (0.05 if args.quick else 1.0)
    names = list(P.PROBLEMS) if not args.problems else [
        n.strip() for n in args.problems.split(",") if n.strip()]
    for n in names:
        if n not in P.PROBLEMS:
            sys.exit(f"unknown problem {n!r}; known: {', '.join(P.PROBLEMS)}")
    specs_all = S.all_solvers(include_glum=not args.no_glum, include_sag=args.sag)
    if args.solvers:
        wanted = {s.strip() for s in args.solvers.split(",")}
        specs_all = [s for s in specs_all if s.key in wanted or s.name in wanted]
    stem = "results-quick" if args.quick else "results"
    if args.size is not None and not args.quick and args.size != 1.0:
        stem = f"results-size{args.size:g}"
    out = args.out
    deadline = Deadline(args.time_limit)
    results = {"meta": _meta(args, size), "problems": []}
    print(f"sklearn_hessian benchmarks: {len(names)} problem(s), size {size}, "
          f"{args.repeats} repeat(s), BLAS threads {args.blas_threads}, out {out}")
    if not S.glum_available() and not args.no_glum:
        print("(glum is not installed: skipped)")
    t_start = time.perf_counter()
    for name in names:
        if deadline.passed():
            print(f"[{name}] time limit reached: not run")
            results["problems"].append({"name": name, "blas_threads": None,
                                        "skipped": "time limit reached"})
            continue
        print(f"[{name}] building ...", flush=True)
        try:
            problem = P.get_problem(name, size=size, seed=args.seed)
        except P.DataUnavailable as exc:
            print(f"[{name}] skipped: {exc}")
            for threads in args.blas_threads:
                results["problems"].append({"name": name, "blas_threads": threads,
                                            "skipped": str(exc)})
            continue
        desc = P.describe(name, problem)
        print(f"[{name}] {desc}", flush=True)
        key = _fingerprint(name, size, args.seed, problem)
        applicable, not_applicable = [], {}
        for spec in specs_all:
            ok, why = spec.applies(problem, args.max_hessian_size)
            if ok:
                applicable.append(spec)
            elif not why.endswith("only") and "multinomial" not in why:
                not_applicable[spec.key] = why
        for threads in args.blas_threads:
            with threadpool_limits(limits=threads):
                t0 = time.perf_counter()
                F_ref, ref_details, cached = cached_reference(
                    out / "reference_cache.json", key,
                    lambda: reference_optimum(problem, args.max_hessian_size,
                                              log=lambda m: print(m, flush=True)))
                print(f"[{name}] F* (reference) = {F_ref:.17g}"
                      + (" (cached)" if cached else
                         f" ({time.perf_counter() - t0:.1f} s)")
                      + f"; {threads} BLAS thread(s)", flush=True)
                records, partial = bench_problem(
                    problem, applicable, F_ref, args, deadline,
                    log=lambda m: print(m, flush=True))
            observed = [F for r in records for F in r.get("Fs", [])]
            F_star = min([F_ref] + observed)
            per_solver, summary = summarise(records, F_star)
            entry = {
                "name": name, "description": desc, "blas_threads": threads,
                "kind": problem.kind, "shape": list(problem.X.shape),
                "sparse": bool(sp.issparse(problem.X)),
                "nnz": int(problem.X.nnz) if sp.issparse(problem.X) else None,
                "alpha": problem.alpha, "size": size, "seed": args.seed,
                "F_ref": F_ref, "F_star": F_star,
                "ref_gap": (F_ref - F_star) / abs(F_star),
                "reference": ref_details, "reference_cached": cached,
                "partial": partial, "solvers": per_solver, "summary": summary,
                "not_applicable": not_applicable,
            }
            results["problems"].append(entry)
            entry["elapsed_s"] = time.perf_counter() - t0
            print(_problem_table(entry), flush=True)
            print(f"[{name}] done in {entry['elapsed_s']:.1f} s "
                  f"(total {time.perf_counter() - t_start:.0f} s)", flush=True)
            write_reports(results, out, stem)
        del problem
        gc.collect()
    results["meta"]["elapsed_s"] = time.perf_counter() - t_start
    write_reports(results, out, stem)
    text = markdown(results)
    summary_part = text.split("## Per problem")[0]
    print()
    print(summary_part)
    print(f"written: {out / (stem + '.md')}, {out / (stem + '.json')}")
    if not args.no_plot:
        try:
            from plot import plot_results

            path = plot_results(results, out / f"{stem}.png")
            print(f"plot: {path}")
        except ImportError as exc:
            print(f"no plot: {exc} (install matplotlib, or run benchmarks/plot.py on "
                  "the JSON elsewhere)")
    print(f"total {time.perf_counter() - t_start:.1f} s")
    return results


def _problem_table(entry):
    lines = [f"[{entry['name']}] F* = {entry['F_star']:.17g}  time (s) to reach level:"]
    lines.append(f"    {'solver':26s}" + "".join(f"{lv:>10.0e}" for lv in LEVELS))
    for key, e in entry["solvers"].items():
        if "levels" not in e:
            continue
        lines.append(f"    {key:26s}" + "".join(
            f"{_fmt_t(e['levels'][repr(lv)]):>10s}" for lv in LEVELS))
    for lv in LEVELS:
        s = entry["summary"][repr(lv)]
        lines.append(
            f"    {lv:.0e}: best ours {_short(s['best_ours'])} {_fmt_t(s['best_ours_time'])}"
            f" | best sklearn {_short(s['best_sklearn'])} {_fmt_t(s['best_sklearn_time'])}"
            f" | ratio {_fmt_ratio(s['ratio_best_ours'], s['best_ours_time'], s['best_sklearn_time'])}"
            f" (auto {_fmt_ratio(s['ratio_auto'], s['auto_time'], s['best_sklearn_time'])})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
