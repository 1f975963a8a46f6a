"""The memory-model numbers of `make bench`: executions per second and the time to find the
real Xen race (version-then-flag under --memory-model armv8). Runs on its own too:
`python bench/memmodel_bench.py`."""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ffaemu import explore  # noqa: E402
from ffaemu.analysis import litmus, search, xen_armv8  # noqa: E402

LITMUS = ROOT / "tests" / "litmus" / "XenNeg+lock+po.litmus"


def litmus_execs_per_s() -> tuple[float, int]:
    """Exhaustive run of the seed test XenNeg+lock+po (3 vCPUs), executions per second."""
    t0 = time.perf_counter()
    res = litmus.run_file(LITMUS)
    return res.executions / (time.perf_counter() - t0), res.executions


def xen_execs_per_s() -> tuple[float, int]:
    """Bounded search (2 deviations) of the flag-acquire fix, 2 vCPUs: executions per second."""
    prog = explore.Program("flag-acquire")
    xen_armv8.executor(prog)                       # machines made once, outside the timing
    t0 = time.perf_counter()
    report = xen_armv8.explore_bounded(prog, 2)
    return report.schedules / (time.perf_counter() - t0), report.schedules


def time_to_find_xen_race() -> tuple[float, int]:
    """From nothing (assemble, make the vCPUs) to the first failing run of version-then-flag."""
    t0 = time.perf_counter()
    prog = explore.Program("version-then-flag")
    summary = search.explore(xen_armv8.executor(prog), lambda out: xen_armv8.judge(prog, out),
                               bound=2, stop=lambda out: xen_armv8.judge(prog, out) is not None)
    assert summary.truncated, "the race was not found"
    return time.perf_counter() - t0, summary.executions


def run(runs: int) -> dict:
    lit = [litmus_execs_per_s() for _ in range(runs)]
    xen = [xen_execs_per_s() for _ in range(runs)]
    find = [time_to_find_xen_race() for _ in range(runs)]

    def st(vals):
        return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
    return {"litmus_execs_per_s": st([r for r, _ in lit]), "litmus_execs": lit[0][1],
            "xen_execs_per_s": st([r for r, _ in xen]), "xen_execs": xen[0][1],
            "xen_race_found_s": st([t for t, _ in find]), "xen_race_found_after_execs": find[0][1]}


def lines(r: dict) -> list[str]:
    def fmt(s, unit=""):
        return f"{s['median']:.4g}{unit} [{s['min']:.4g}..{s['max']:.4g}]"
    return [f"  (h) memory model: litmus XenNeg+lock+po {fmt(r['litmus_execs_per_s'], ' executions/s')} "
            f"({r['litmus_execs']} executions)",
            f"      Xen flag-acquire, bound 2          {fmt(r['xen_execs_per_s'], ' executions/s')} "
            f"({r['xen_execs']} executions)",
            f"      time to find the Xen race (armv8)  {fmt(r['xen_race_found_s'], ' s')} "
            f"(execution {r['xen_race_found_after_execs']}, from a cold start)"]


if __name__ == "__main__":
    print("\n".join(lines(run(int(sys.argv[1]) if len(sys.argv) > 1 else 3))))
