"""`--shard I/N`: split an explorer search or a width-fuzz campaign into N parts that run
anywhere (pytest-xdist workers, CI jobs, machines), and merge their JSON reports into
exactly the report of the unsharded run.

Shard I (1-based on the command line, 0-based here) takes the I-th of every N schedules
in the unsharded enumeration order (bounded sc), every N-th seed (random), the default
run's I-th of every N subtrees (bounded armv8: memmodel.explore), or every N-th case
(width fuzzing). Each report carries what merging needs under "shard".
"""
from __future__ import annotations

from .errors import FfaemuError


def parse(text: str) -> tuple[int, int]:
    """"I/N" (1 <= I <= N <= 10,000) -> (I - 1, N)."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise FfaemuError(f"--shard must be I/N (e.g. 1/4), not '{text}'") from None
    if not 1 <= i <= n <= 10_000:
        raise FfaemuError(f"--shard {text}: need 1 <= I <= N <= 10000")
    return i - 1, n


def _check_cover(docs: list[dict]) -> None:
    shards = [d.get("shard") for d in docs]
    if any(s is None for s in shards):
        raise FfaemuError("merge needs the JSON reports of --shard runs")
    n = shards[0]["of"]
    if sorted(s["index"] for s in shards) != list(range(n)) or any(s["of"] != n for s in shards):
        raise FfaemuError(f"merge needs each of the {n} shards exactly once")
    same = {k: {d[k] for d in docs} for k in ("variant", "memory_model", "mode")}
    if any(len(v) != 1 for v in same.values()):
        raise FfaemuError("merge: the shards come from different searches")


def merge_explore(docs: list[dict]) -> dict:
    """The unsharded `explore --json` report from its shards' reports."""
    _check_cover(docs)
    out = {k: docs[0][k] for k in ("variant", "memory_model", "mode")}
    out["schedules"] = sum(d["schedules"] for d in docs)
    out["failures"] = sum(d["failures"] for d in docs)
    failing = [d for d in docs if d["first_failure"] is not None]
    first = None
    if out["mode"].startswith("random"):
        if failing:
            first = min((d["first_failure"] for d in failing), key=lambda f: f["seed"])
    elif out["memory_model"] == "sc":
        if failing:
            first = min(failing, key=lambda d: d["shard"]["first_index"])["first_failure"]
    else:
        first = _armv8_first(docs)
    out["first_failure"] = first
    return out


def _armv8_first(docs: list[dict]) -> dict | None:
    """As xen_armv8.explore_bounded picks it: per kind of failure the run with fewest
    deviations found first, then the least of those; re-run for its trace."""
    best: dict = {}
    for d in docs:
        for f in d["shard"]["firsts"]:
            rank = (len(f["deviations"]), tuple(f["order"]))
            if f["key"] not in best or rank < best[f["key"]][0]:
                best[f["key"]] = (rank, f["deviations"])
    if not best:
        return None
    devs = min((devs for _, devs in best.values()), key=lambda ds: (len(ds), sorted(ds)))
    from . import explore
    prog = explore.Program(docs[0]["variant"], docs[0]["shard"]["vcpus"])
    out = explore._armv8().outcome(prog, {i: c for i, c in devs})
    return explore.Report(prog.variant, 1, 1, out, "", "armv8").as_json()["first_failure"]


def merge_fuzz(docs: list[dict]) -> dict:
    """The unsharded `widthfuzz.campaign` report from its shards' reports."""
    shards = [d.get("shard") for d in docs]
    if any(s is None for s in shards) or sorted(s["index"] for s in shards) != list(range(shards[0]["of"])):
        raise FfaemuError("merge needs each shard's campaign report exactly once")
    out = {k: v for k, v in docs[0].items() if k not in ("shard", "runs", "failures")}
    out["runs"] = sum(d["runs"] for d in docs)
    out["failures"] = sorted((f for d in docs for f in d["failures"]), key=lambda f: f["index"])
    return out
