"""`make bench`: ffaemu and qemu-system-aarch64 side by side on the same work, in one run.

Prints a table (median, min, max over RUNS runs) with the ratios, and writes
build/bench/results.json (ignored by git; `BENCH_OUT=path` writes elsewhere;
bench/results.json is the recorded run the README quotes). See the README's "Speed" section.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import memmodel_bench  # noqa: E402
from images import FIRST_INSN_GUEST, guest_loop_source, roundtrip_source  # noqa: E402

from ffaemu.loader import load_asm, load_elf, write_elf  # noqa: E402
from ffaemu.machine import Machine, StopReason  # noqa: E402
from ffaemu.runner import build_guest  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
COLD_RUNS = 21
QEMU = ["qemu-system-aarch64", "-M", "virt,secure=on,virtualization=on", "-cpu", "max",
        "-nographic", "-net", "none", "-semihosting"]
N_SHORT, N_LONG = 20_000, 220_000          # round trips per run (rates use the difference)
N_PY = 20_000
FFA_ID_GET, FFA_VERSION = 0x84000069, 0x84000063


def stats(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def write_image(tmp: Path, name: str, source: str) -> Path:
    src = tmp / f"{name}.S"
    src.write_text(source)
    elf = tmp / f"{name}.elf"
    write_elf(elf, load_asm(src))
    return elf


# (a) cold start --------------------------------------------------------------------------
def ffaemu_cold_start(guest_elf: Path) -> float:
    gc.collect()                    # free earlier machines (reference cycles) before timing
    t0 = time.perf_counter()
    setup = build_guest(guest_elf, "tfa-spmd", "pkvm")
    entry = setup.machine.images[0].entry
    setup.machine.watch(entry, lambda m: m.stop(StopReason.SYSTEM_OFF, None, "first instruction"))
    res = setup.run().result
    elapsed = time.perf_counter() - t0
    assert res.message == "first instruction", res.message
    return elapsed


def qemu_first_byte(elf: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(QEMU + ["-device", f"loader,file={elf},cpu-num=0"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.stdout.read(1)
    elapsed = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    return elapsed


# (b, d) Python models --------------------------------------------------------------------
def python_roundtrips(tmp: Path, el2: str, fid: int, n: int) -> float:
    guest = tmp / f"loop_{n}_{fid:x}.S"
    guest.write_text(guest_loop_source(n, fid))
    elf = tmp / f"loop_{n}_{fid:x}.elf"
    write_elf(elf, load_asm(guest))
    setup = build_guest(elf, "tfa-spmd", el2)
    t0 = time.perf_counter()
    res = setup.run().result
    elapsed = time.perf_counter() - t0
    assert res.reason.value == "system-off", res.message
    return elapsed


def rate_from(fn, n_short: int, n_long: int) -> float:
    """Rate per second from two loop lengths, so fixed costs cancel."""
    return (n_long - n_short) / (fn(n_long) - fn(n_short))


def bare_el2_traps(tmp: Path, n: int) -> float:
    """SMCs trapped to a Python EL2 handler that only answers: the harness's own cost."""
    guest = tmp / f"bare_{n}.S"
    guest.write_text(guest_loop_source(n, FFA_ID_GET))
    m = Machine()
    image = m.load(load_asm(guest))

    def answer(trap):
        if trap.w(0) == 0x84000008:
            return trap.stop("system-off")
        return trap.ret(0)
    answer.name = "bare"
    entry = m.boot_guest(image.entry, el2=answer, traps_smc=True)
    t0 = time.perf_counter()
    res = m.run(entry)
    elapsed = time.perf_counter() - t0
    assert res.reason.value == "system-off", res.message
    return elapsed


# (c) assembly round trips -----------------------------------------------------------------
def ffaemu_asm(elf: Path) -> float:
    m = Machine()
    m.load(load_elf(elf))
    t0 = time.perf_counter()
    res = m.run()
    elapsed = time.perf_counter() - t0
    assert (res.reason.value, res.code) == ("semihost-exit", 0), res.message
    return elapsed


def qemu_run(elf: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(QEMU + ["-device", f"loader,file={elf},cpu-num=0"], capture_output=True,
                          timeout=600)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.returncode
    return elapsed


# (e) scenarios ---------------------------------------------------------------------------
def scenario_matrix() -> float:
    from ffaemu import scenarios
    t0 = time.perf_counter()
    for sc in scenarios.registry().values():
        for variant in sc.variants:
            res = sc.run(variant, lambda line: None)
            assert res.as_expected, (sc.name, variant)
    return time.perf_counter() - t0


# (g) a new `ffaemu run` process, assembling everything vs reading the object cache ----------
def process_start(env: dict) -> float:
    """Wall time of `ffaemu run asm/el1/psci_off.S --el3 tfa-spmd --el2 pkvm` in a new process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ffaemu", "run", str(ROOT / "asm/el1/psci_off.S"),
                    "--el3", "tfa-spmd", "--el2", "pkvm"], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def process_starts(tmp: Path) -> tuple[dict, dict]:
    """(no object cache: boot stubs and guest assembled by keystone in its worker process,
    the cache warm: read back by content hash); the native fast path is built beforehand."""
    base = dict(os.environ, PYTHONPATH=str(ROOT), FFAEMU_CACHE=str(tmp / "cache"))
    process_start(base)                                   # builds the fast path, fills the cache
    cold = [process_start(dict(base, FFAEMU_NO_CACHE="1")) for _ in range(RUNS)]
    warm = [process_start(base) for _ in range(RUNS)]
    return stats(cold), stats(warm)


# (f) memory ------------------------------------------------------------------------------
def peak_rss_mb(tmp: Path) -> float:
    """Peak RSS (VmHWM) of a fresh process running workload (b), in MiB. Not ru_maxrss:
    Linux keeps it across execve, so a child would report the forking parent's peak."""
    code = ("import sys; sys.path[:0] = [{root!r}, {bench!r}]\n"
            "from bench import python_roundtrips; from pathlib import Path\n"
            "python_roundtrips(Path({tmp!r}), 'pkvm', 0x84000069, {n})\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", code.format(root=str(ROOT), bench=str(ROOT / "bench"),
                                                            tmp=str(tmp), n=N_PY)],
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> int:
    if shutil.which(QEMU[0]) is None:
        print("qemu-system-aarch64 is needed: apt-get install qemu-system-arm", file=sys.stderr)
        return 2
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        first = write_image(tmp, "first", FIRST_INSN_GUEST)
        boot = write_image(tmp, "boot", roundtrip_source(0))
        short = write_image(tmp, "short", roundtrip_source(N_SHORT))
        long = write_image(tmp, "long", roundtrip_source(N_LONG))
        ffaemu_cold_start(first)                                   # warm caches (keystone etc.)

        cold_runs = max(RUNS, COLD_RUNS)           # cheap and noisy: more samples
        cold_ffa = stats([ffaemu_cold_start(first) for _ in range(cold_runs)])
        cold_qemu = stats([qemu_first_byte(boot) for _ in range(cold_runs)])
        asm_ffa = stats([(N_LONG - N_SHORT) / (ffaemu_asm(long) - ffaemu_asm(short)) for _ in range(RUNS)])
        asm_qemu = stats([(N_LONG - N_SHORT) / (qemu_run(long) - qemu_run(short)) for _ in range(RUNS)])
        py_rt = stats([rate_from(lambda n: python_roundtrips(tmp, "pkvm", FFA_ID_GET, n), 2_000, N_PY)
                       for _ in range(RUNS)])
        el2_traps = stats([rate_from(lambda n: python_roundtrips(tmp, "pkvm", FFA_VERSION, n), 2_000, N_PY)
                           for _ in range(RUNS)])
        bare = stats([rate_from(lambda n: bare_el2_traps(tmp, n), 2_000, N_PY) for _ in range(RUNS)])
        matrix = stats([scenario_matrix() for _ in range(RUNS)])
        rss = peak_rss_mb(tmp)
        start_cold, start_warm = process_starts(tmp)
        memmodel = memmodel_bench.run(RUNS)

    results = {
        "cold_start_s": {"ffaemu": cold_ffa, "qemu": cold_qemu},
        "roundtrips_per_s": {"python_models": py_rt, "ffaemu_asm": asm_ffa, "qemu_asm": asm_qemu},
        "cold_start_speedup_vs_qemu": cold_qemu["median"] / cold_ffa["median"],
        "roundtrip_python_ratio_vs_qemu": py_rt["median"] / asm_qemu["median"],
        "roundtrip_asm_ratio_vs_qemu": asm_ffa["median"] / asm_qemu["median"],
        "el2_traps_per_s": el2_traps["median"],
        "el2_traps_per_s_stats": el2_traps,
        "bare_el2_handler_traps_per_s": bare["median"],
        "scenario_matrix_s": matrix["median"],
        "scenario_matrix_s_stats": matrix,
        "peak_rss_mb": rss,
        "process_start_s": {"assembling": start_cold, "cache_warm": start_warm},
        "memory_model": memmodel,
        "memmodel_litmus_execs_per_s": memmodel["litmus_execs_per_s"]["median"],
        "xen_race_found_s": memmodel["xen_race_found_s"]["median"],
        "runs": RUNS,
    }
    targets = {"cold_start_speedup_vs_qemu": (">=", 20), "roundtrip_python_ratio_vs_qemu": (">=", 1.0),
               "roundtrip_asm_ratio_vs_qemu": (">=", 0.5), "el2_traps_per_s": (">=", 300_000),
               "scenario_matrix_s": ("<", 2.0), "peak_rss_mb": ("<", 150),
               "memmodel_litmus_execs_per_s": (">=", 250), "xen_race_found_s": ("<", 1.0)}

    def fmt(s, unit=""):
        return f"{s['median']:.4g}{unit} [{s['min']:.4g}..{s['max']:.4g}]"

    print(f"ffaemu vs qemu-system-aarch64, medians [min..max] of {RUNS} runs")
    print(f"  (a) cold start          ffaemu {fmt(cold_ffa, ' s')}   qemu {fmt(cold_qemu, ' s')}")
    print(f"  (b) round trips, Python models      {fmt(py_rt, '/s')}")
    print(f"  (c) round trips, assembly   ffaemu {fmt(asm_ffa, '/s')}   qemu {fmt(asm_qemu, '/s')}")
    print(f"  (d) EL2 traps answered by a Python model  {fmt(el2_traps, '/s')}")
    print(f"      ... a bare Python EL2 handler (harness cost only)  {fmt(bare, '/s')}")
    print(f"  (e) scenario matrix     {fmt(matrix, ' s')}")
    print(f"  (f) peak RSS running (b) {rss:.1f} MiB")
    print(f"  (g) new `ffaemu run` process   assembling {fmt(start_cold, ' s')}   "
          f"object cache warm {fmt(start_warm, ' s')}")
    print("\n".join(memmodel_bench.lines(memmodel)))
    print("targets:")
    for key, (op, goal) in targets.items():
        value = results[key]
        ok = value >= goal if op == ">=" else value < goal
        print(f"  {key:<32} {value:>12.4g}   target {op} {goal:<8} {'met' if ok else 'NOT met'}")
    out = Path(os.environ.get("BENCH_OUT") or ROOT / "build" / "bench" / "results.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
