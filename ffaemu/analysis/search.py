"""Depth-first search over the executions of a `memmodel.Executor`, and run names.

A run is named by its deviations from the default choices (`{choice index: alternative}`);
`explore` enumerates every run with at most `bound` deviations, each exactly once (a child
deviates only after its parent's last deviation), in a fixed order: same program, same runs.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from ..errors import FfaemuError
from .memmodel import Executor


@dataclass
class Summary:
    executions: int = 0
    outcomes: dict = field(default_factory=dict)            # key -> count
    first: dict = field(default_factory=dict)               # key -> first Outcome
    truncated: bool = False
    dropped: int = 0                                        # runs with a promise unfulfilled
    order: dict = field(default_factory=dict)               # key -> first's (subtree, position)


def explore(ex: Executor, key, bound: int | None = None, limit: int | None = None,
            stop=None, shard: tuple[int, int] = (0, 1)) -> Summary:
    """Every execution with at most `bound` deviations (all of them if None), depth first.

    `key(outcome)` classifies an outcome; `stop(outcome)` ends the search early. `shard`
    (i, n): only the subtrees under the default run's children numbered i mod n (the
    default run itself counts in shard 0); `order` places each first in the unsharded
    search, so shards merge exactly (`ffaemu.shard`).

    A child run is its parent's up to its last deviation: it resumes from the parent's
    snapshot before that choice (`Executor.run(keep=..., resume=...)`) instead of starting over.
    """
    summary = Summary()
    index, n = shard
    stack = [({}, -1, -1, None)]
    position = 0
    while stack:
        devs, last, subtree, resume = stack.pop()
        grow = bound is None or len(devs) < bound
        out = ex.run(devs, keep=grow, resume=resume, leaf=not grow)
        position += 1
        children = []
        if grow:
            snapshots, out.snapshots = out.snapshots, None
            marks = [snap[0] for snap in snapshots]
            for i in range(last + 1, len(out.choices)):
                snap = snapshots[bisect_right(marks, i) - 1]       # the latest before choice i
                for alt in range(1, out.choices[i]):
                    children.append(({**devs, i: alt}, i, subtree if subtree >= 0 else len(children),
                                     snap))
        if subtree < 0:                            # the default run: its subtrees are dealt out
            children = [c for c in children if c[2] % n == index]
            if index != 0:
                stack.extend(reversed(children))
                continue
        if not out.valid:                          # an unfulfilled promise: no execution
            summary.dropped += 1
        else:
            summary.executions += 1
            k = key(out)
            summary.outcomes[k] = summary.outcomes.get(k, 0) + 1
            if k not in summary.first or len(out.deviations) < len(summary.first[k].deviations):
                summary.first[k] = out             # per outcome, the run with fewest deviations
                summary.order[k] = (subtree, position)
        if stop is not None and out.valid and stop(out):
            summary.truncated = True
            break
        stack.extend(reversed(children))
        if limit is not None and summary.executions + summary.dropped >= limit and stack:
            summary.truncated = True
            break
    return summary


def format_deviations(devs: dict[int, int]) -> str:
    """A run's name on the command line: `index:alternative,...` (`-` for the default run)."""
    return ",".join(f"{i}:{c}" for i, c in sorted(devs.items())) or "-"


def parse_deviations(text: str) -> dict[int, int]:
    if text.strip() == "-":
        return {}
    try:
        pairs = [p.split(":") for p in text.split(",")]
        devs = {int(i): int(c) for i, c in pairs}
    except ValueError:
        raise FfaemuError(f"bad schedule '{text}' (expected INDEX:CHOICE,... as printed by explore)") from None
    if any(i < 0 or c < 1 for i, c in devs.items()):
        raise FfaemuError(f"bad schedule '{text}' (indices >= 0, choices >= 1)")
    return devs
