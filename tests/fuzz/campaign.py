"""`make fuzz`: a long campaign over every input class of tests/fuzz/harness.py.

    python tests/fuzz/campaign.py --inputs 10000 [--jobs 2] [--seed 0] [--report FILE]

Inputs are spread evenly over the classes; case k of class C is reproduced with
`python tests/fuzz/campaign.py --replay C:k`. Prints the count per class and every
problem found, writes the same as JSON to --report, exits 1 if anything was found.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

BATCH = 25


def _batch(job: tuple[str, int, int]) -> tuple[str, int, list]:
    cls, first, count = job
    found = []
    with tempfile.TemporaryDirectory(prefix=f"ffaemu-fuzz-{cls}-") as tmp:
        for seed in range(first, first + count):
            try:
                problems = harness.run_case(cls, seed, Path(tmp) / str(seed))
            except Exception as e:                    # noqa: BLE001 - a harness bug: report it
                problems = [f"harness error: {e!r}"]
            found += [[cls, seed, problem] for problem in problems]
    return cls, count, found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=10_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="first case number of every class")
    p.add_argument("--classes", default=",".join(harness.CLASSES))
    p.add_argument("--report", default="fuzz-report.json")
    p.add_argument("--replay", metavar="CLASS:SEED")
    args = p.parse_args(argv)
    if args.replay:
        cls, seed = args.replay.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            found = harness.run_case(cls, int(seed), Path(tmp))
        print("\n".join(found) or "no problem")
        return 1 if found else 0
    classes = args.classes.split(",")
    per_class = -(-args.inputs // len(classes))
    jobs = [(c, args.seed + i, min(BATCH, per_class - i)) for c in classes for i in range(0, per_class, BATCH)]
    counts = {c: 0 for c in classes}
    problems = []
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done, (cls, count, found) in enumerate(pool.map(_batch, jobs), 1):
            counts[cls] += count
            problems += found
            if done % 20 == 0 or done == len(jobs):
                print(f"[{time.monotonic() - start:7.0f} s] {sum(counts.values())} inputs, "
                      f"{len(problems)} problems", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - start
    report = {"inputs": sum(counts.values()), "per_class": counts, "seconds": round(elapsed),
              "problems": problems}
    Path(args.report).write_text(json.dumps(report, indent=1) + "\n")
    for cls, n in counts.items():
        print(f"{cls:<12} {n:>6} inputs, {sum(1 for p in problems if p[0] == cls)} problems")
    print(f"total        {report['inputs']:>6} inputs in {elapsed:.0f} s, {len(problems)} problems")
    for cls, seed, problem in problems[:50]:
        print(f"  {cls}:{seed}: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
