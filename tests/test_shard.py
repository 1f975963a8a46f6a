"""--shard I/N: the parts of an explorer search or a width-fuzz campaign merge into exactly
the unsharded result."""
from __future__ import annotations

import json

import pytest

from ffaemu import explore
from ffaemu.cli import main
from ffaemu.errors import FfaemuError
from ffaemu.shard import merge_explore, merge_fuzz, parse
from ffaemu.widthfuzz_campaign import campaign


def _merged(search, n: int) -> dict:
    return merge_explore([search((i, n)).as_json() for i in range(n)])


@pytest.mark.parametrize("model, bound", [("sc", 1), ("armv8", 2)])
def test_bounded_shards_merge_to_the_whole(model, bound):
    whole = explore.explore_bounded("flag-before-version", bound, 2, model).as_json()
    assert whole["failures"] > 0                       # something to pick a first failure from
    for n in (2, 3):
        assert _merged(lambda s: explore.explore_bounded("flag-before-version", bound, 2, model,
                                                         shard=s), n) == whole


@pytest.mark.parametrize("model", ["sc", "armv8"])
def test_random_shards_merge_to_the_whole(model):
    whole = explore.explore_random("unlocked-publish", 5, 24, 2, model).as_json()
    assert _merged(lambda s: explore.explore_random("unlocked-publish", 5, 24, 2, model, shard=s), 4) == whole


def test_cli_shards_and_merge(tmp_path, capsys):
    base = ["explore", "xen-negotiation-race", "--variant", "flag-before-version", "--bound", "1", "--json"]
    assert main(base) == 1
    whole = json.loads(capsys.readouterr().out)
    files = []
    for i in (1, 2):
        assert main(base + ["--shard", f"{i}/2"]) in (0, 1)
        files.append(tmp_path / f"{i}.json")
        files[-1].write_text(capsys.readouterr().out)
    assert main(["merge", *map(str, files)]) == 1
    assert json.loads(capsys.readouterr().out) == whole
    assert main(["merge", str(files[0])]) == 2                  # a shard is missing
    assert "each of the 2 shards exactly once" in capsys.readouterr().err


def test_fuzz_campaign_shards_merge_to_the_whole():
    # A bug-zoo stack (pKVM before 6f4c348b1d5c wrote back x0-x3 only), so that the
    # campaign has failures to merge, next to the fixed one.
    stacks = (("optee", "pkvm"), ("optee", "pkvm:retval-regs=4"))
    whole = campaign(3, 16, stacks=stacks)
    assert whole["runs"] == 16
    assert "pkvm:retval-regs=4" in {f["el2"] for f in whole["failures"]}
    assert merge_fuzz([campaign(3, 16, (i, 3), stacks) for i in range(3)]) == whole


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(FfaemuError, match="--shard"):
        parse(text)
