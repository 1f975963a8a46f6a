"""Depth-first search over the executions of a `memmodel.Executor`, and run names.

A run is named by its deviations from the default choices (`{choice index: alternative}`);
`explore` enumerates every run with at most `bound` deviations, each exactly once (a child
deviates only after its parent's last deviation), in a fixed order: same program, same runs.
"""
from __future__ import annotations

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


def explore(ex: Executor, key, bound: int | None = None, limit: int | None = None,
            stop=None) -> Summary:
    """Every execution with at most `bound` deviations (all of them if None), depth first.

    `key(outcome)` classifies an outcome; `stop(outcome)` ends the search early.
    """
    summary = Summary()
    stack = [({}, -1)]
    while stack:
        devs, last = stack.pop()
        out = ex.run(devs)
        if not out.valid:                          # an unfulfilled promise: no execution
            summary.dropped += 1
        else:
            summary.executions += 1
            k = key(out)
            summary.outcomes[k] = summary.outcomes.get(k, 0) + 1
            if k not in summary.first or len(out.deviations) < len(summary.first[k].deviations):
                summary.first[k] = out             # per outcome, the run with fewest deviations
        if stop is not None and out.valid and stop(out):
            summary.truncated = True
            break
        children = []
        if bound is None or len(devs) < bound:
            for i in range(last + 1, len(out.choices)):
                for alt in range(1, out.choices[i]):
                    children.append(({**devs, i: alt}, i))
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
