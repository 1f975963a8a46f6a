"""Width-fuzz campaigns that shard: `campaign(seed, count, shard=(i, n))` checks `count`
cases drawn from `seed` (case k under stack k mod 15, every firmware x hypervisor pair)
and reports each failing case; shards of one campaign merge (`ffaemu.shard.merge_fuzz`)
into exactly the unsharded report. Case k depends only on (seed, k), so any shard can
draw it. (tests/test_width_fuzz.py is the hypothesis-driven, shrinking fuzzer; this is
the long-campaign form for many cores or machines.)"""
from __future__ import annotations

import random

from .widthfuzz import FIRMWARE, HYPERVISORS, MAX_CALLS, POOL, UPPERS, Case, problems

STACKS = tuple((el3, el2) for el3 in FIRMWARE for el2 in HYPERVISORS)
MAX_CASE_CALLS = 5                     # as tests/test_width_fuzz.py's strategy draws them


def draw(seed: int, k: int, stacks=STACKS) -> tuple[str, str, Case]:
    """Case k of the campaign `seed`, and the stack (of `stacks`) it runs under."""
    rng = random.Random(f"{seed}:{k}")
    el3, el2 = stacks[k % len(stacks)]
    calls = tuple(rng.choice(sorted(POOL)) for _ in range(rng.randint(0, MAX_CASE_CALLS)))
    assert len(calls) <= MAX_CALLS
    # Under a hypervisor the firmware zero-extends (pKVM and Xen rely on it: see
    # tests/test_width_fuzz.py); without one every --fw-upper policy is drawn.
    uppers = UPPERS if el2.split(":")[0] == "none" else ("zero",)
    case = Case(calls=calls,
                inputs=tuple(rng.getrandbits(32) for _ in range(rng.randint(0, 48))),
                high=tuple(rng.getrandbits(64) for _ in range(rng.randint(0, 60))),
                upper=rng.choice(uppers), seed=rng.getrandbits(32))
    return el3, el2, case


def campaign(seed: int, count: int, shard: tuple[int, int] = (0, 1), stacks=STACKS) -> dict:
    """Run this shard's cases of the campaign; the failing ones with their problems."""
    failures, runs = [], 0
    for k in range(shard[0], count, shard[1]):
        el3, el2, case = draw(seed, k, stacks)
        runs += 1
        found = problems(el3, el2, case)
        if found:
            failures.append({"index": k, "el3": el3, "el2": el2, "case": repr(case), "problems": found})
    report = {"seed": seed, "count": count, "runs": runs, "failures": failures}
    if shard != (0, 1):
        report["shard"] = {"index": shard[0], "of": shard[1]}
    return report
