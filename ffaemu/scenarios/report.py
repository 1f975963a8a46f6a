"""The scenario page: every scenario and variant as JSON objects or a Markdown table.

`ffaemu scenario run --all --json` prints one JSON array with one object per scenario and
variant; `--format markdown` prints a table to paste into a bug report.
"""
from __future__ import annotations

from . import Scenario, VariantResult

COLUMNS = ("project", "scenario", "fix", "variant", "option", "expected", "observed",
           "guest-visible difference")


def as_json(sc: Scenario, res: VariantResult, trace: list[str]) -> dict:
    """One scenario variant: expected vs observed, the guest-visible difference, the fix."""
    return {
        "scenario": sc.name, "project": sc.project, "fix": sc.fix or None, "title": sc.title,
        "variant": res.variant, "option": sc.option(res.variant),
        "expected": _bug(res.expects_bug), "observed": _bug(res.bug_shown),
        "as_expected": res.as_expected, "verdict": res.verdict,
        "difference": _jsonable(res.details.get("difference", res.details)),
        "trace": trace,
    }


def markdown(rows: list[dict]) -> str:
    """A GitHub-flavoured Markdown table of `as_json` rows."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = [r["project"], f"`{r['scenario']}`", f"`{r['fix']}`" if r["fix"] else "—",
                 r["variant"], f"`{r['option']}`", r["expected"],
                 r["observed"] + ("" if r["as_expected"] else " **(UNEXPECTED)**"), _difference(r)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _difference(row: dict) -> str:
    diff = row["difference"]
    if isinstance(diff, list) and diff and isinstance(diff[0], dict) and "observed" in diff[0]:
        return "; ".join(f"{d['call']}: " + (" ".join(f"{k}={v}" for k, v in d["observed"].items())
                                              or f"run stops ({d.get('end')})") for d in diff)
    return row["verdict"]


def _bug(flag: bool) -> str:
    return "bug" if flag else "no bug"


def _jsonable(value):
    """Details as JSON: tuple keys joined, ints kept, anything else as text."""
    if isinstance(value, dict):
        return {(" ".join(map(str, k)) if isinstance(k, tuple) else str(k)): _jsonable(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)
