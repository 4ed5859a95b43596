"""The long fuzz profile (issue 10, item 8): at least 100,000 generated inputs across the six untrusted
inputs (gspk values, page HTML, Refresh / meta / JS redirects, CSV / JSON Lines exports, ticket
YAML / JSON, saved evidence JSON), in worker processes on every core.

Each target and strategy is the one the test suite's small profile uses (tests/fuzz_targets.py, run by
tests/test_fuzz.py); here hypothesis generates them in chunks of --chunk inputs (generation only, no
shrinking), each chunk with its own seed. Every input runs under the per-example limits of
tests/fuzzing.py (TIME_LIMIT seconds of CPU with a SIGALRM watchdog at twice that on the clock,
RLIMIT_AS at the process's size plus MEMORY_LIMIT, the raise of the peak resident memory); in
addition this parent kills a worker whose
input outlives three times the limit (a hang in native code, which no signal handler interrupts) or
notices one that died (a native abort, e.g. an allocation refused in polars), records that input as
a hang or a failure, starts a new worker and hands out the rest of that chunk with another seed.

Prints per target: inputs, input errors (the one-line BadInput, an allowed outcome), failures (with
the first failing input shortened), hangs, memory, wrong row counts, stalls, and the slowest input
with its time; exits 1 if anything but a result, an input error or a stall happened. A worker stuck
on an input is killed and that input run again in a fresh process: it is a hang only if it hangs
(or fails) there too, else a "stall" of the machine (seen at load averages of 15-30 on 2 cores).

    python benchmarks/fuzz.py [--examples 100000] [--seconds S] [--workers 2] [--targets a,b] [--seed 0]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# "stall": a worker stuck on an input that then ran normally in a fresh process (a loaded machine)
KINDS = ("ok", "input-error", "stall", "known", "failure", "hang", "memory", "wrong-rows")
BAD = KINDS[3:]  # "known": a failure already reported (tests/fuzzing.py KNOWN), still a failure here


@dataclass
class Stats:
    inputs: int = 0
    kinds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first: dict[str, str] = field(default_factory=dict)  # kind -> "detail | input"
    slowest: tuple[float, float, str] = (0.0, 0.0, "")  # on the clock, CPU, the input
    peak: int = 0
    seconds: float = 0.0

    def add(self, kind: str, seconds: float, cpu: float, peak: int | None, text: str | None, detail: str) -> None:
        self.inputs += 1
        self.kinds[kind] += 1
        self.seconds += seconds
        self.peak = max(self.peak, peak or 0)
        if kind in BAD and kind not in self.first:
            self.first[kind] = f"{detail} | input: {text}"
        if text is not None and seconds > self.slowest[0]:
            self.slowest = (seconds, cpu, text)


# -- worker -------------------------------------------------------------------------------------------


def _worker(scratch, tasks, results, holding, current, started, done, stop) -> None:
    """Take (target, seed, n) chunks until told to stop; report every input."""
    import warnings

    from fuzz_targets import TARGETS

    warnings.filterwarnings("ignore", message=".*looks more like a (URL|filename)")  # bs4, on a page that is one URL
    warnings.filterwarnings("ignore", category=UserWarning, module="bs4")
    warmed: set[str] = set()
    while not stop.is_set():
        try:
            name, chunk_seed, n = tasks.get(timeout=0.2)
        except queue.Empty:
            continue
        if name is None:
            return
        holding.value = f"{name}|{chunk_seed}|{n}".encode()
        if name not in warmed:
            TARGETS[name].warm()
            warmed.add(name)
        done.value = 0
        _chunk(name, chunk_seed, n, scratch, results, current, started, done, stop)
        holding.value = b""
        results.put((name, "chunk-done", chunk_seed, done.value, None, None, ""))


def _chunk(name: str, chunk_seed: int, n: int, scratch: str, results, current, started, done, stop) -> None:
    """One hypothesis run of ``n`` inputs of one target (generation only: nothing raises, nothing shrinks).
    Each input is saved first (pickled), so that the parent can run it again in a fresh process."""
    import pickle

    from fuzz_targets import TARGETS
    from fuzzing import attempt, shorten
    from hypothesis import HealthCheck, Phase, given, seed, settings

    target = TARGETS[name]
    slowest = [0.0]
    saved = _saved(scratch, os.getpid())

    @seed(chunk_seed)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(target.strategy)
    def chunk(example) -> None:
        if done.value >= n or stop.is_set():
            return  # hypothesis may call once more than asked; a stop skips the rest
        text = shorten(example, 400)
        current.value = text.encode("utf-8", "backslashreplace")[:1999]
        with open(saved, "wb") as fh:
            pickle.dump((name, example), fh, protocol=pickle.HIGHEST_PROTOCOL)
        started.value = time.monotonic()
        outcome = attempt(target, example)
        started.value = 0.0
        done.value += 1
        keep = outcome.kind not in ("ok", "input-error") or outcome.seconds > slowest[0]
        slowest[0] = max(slowest[0], outcome.seconds)
        results.put((name, outcome.kind, outcome.seconds, outcome.cpu, outcome.peak, text if keep else None,
                     outcome.detail))

    chunk()


@dataclass
class Worker:
    process: mp.Process
    holding: object  # the chunk it holds: "target|seed|inputs" (empty: none)
    current: object  # the input it runs, shortened
    started: object  # when that input started (0: between inputs)
    done: object  # inputs of the chunk done


def _start(ctx, scratch, tasks, results, stop) -> Worker:
    shared = (ctx.Array("c", 64, lock=False), ctx.Array("c", 2000, lock=False), ctx.Value("d", 0.0, lock=False),
              ctx.Value("i", 0, lock=False))
    process = ctx.Process(target=_worker, args=(scratch, tasks, results, *shared, stop), daemon=True)
    process.start()
    return Worker(process, *shared)


# -- parent -------------------------------------------------------------------------------------------


def main() -> int:
    from fuzz_targets import TARGETS
    from fuzzing import MEMORY_LIMIT, TIME_LIMIT

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=100_000, help="inputs in all (split by the targets' weights)")
    parser.add_argument("--seconds", type=float, default=None, help="stop handing out work after this long")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of: {', '.join(TARGETS)}")
    parser.add_argument("--chunk", type=int, default=250, help="inputs per hypothesis run (one seed each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replay", metavar="FILE", help=argparse.SUPPRESS)  # one saved input, in this process
    args = parser.parse_args()
    if args.replay:
        return _replay_here(args.replay)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r} (known: {', '.join(TARGETS)})")
    weight = sum(TARGETS[n].weight for n in names)
    want = {n: max(1, round(args.examples * TARGETS[n].weight / weight)) for n in names}

    ctx = mp.get_context("spawn")
    scratch = tempfile.mkdtemp(prefix="diagnose-fuzz-run-")
    tasks, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    chunks = {n: [(n, args.seed * 1_000_003 + zlib.crc32(n.encode()) % 100_000 * 1000 + k, min(args.chunk, want[n] - at))
                  for k, at in enumerate(range(0, want[n], args.chunk))] for n in names}
    # interleaved, the cheap targets' many chunks spread over the run, so that --seconds cuts every target alike
    pending = [c for _, c in sorted((k / len(cs), c) for cs in chunks.values() for k, c in enumerate(cs))]
    asked: dict[int, int] = {}  # seed of a chunk handed out -> inputs asked of it
    stats = {n: Stats() for n in names}
    workers = [_start(ctx, scratch, tasks, results, stop) for _ in range(max(1, args.workers))]
    began = time.monotonic()
    outstanding = 0
    hard = 3 * TIME_LIMIT
    print(f"fuzz: {sum(want.values())} inputs over {', '.join(names)} on {len(workers)} worker(s); per input: "
          f"{TIME_LIMIT:g} s of CPU (watchdog {2 * TIME_LIMIT:g} s, kill {hard:g} s), memory +{MEMORY_LIMIT >> 20} MB",
          flush=True)
    last_note = began
    try:
        while pending or outstanding:
            timed_out = args.seconds is not None and time.monotonic() - began > args.seconds
            if timed_out and pending:
                pending.clear()
            while pending and outstanding < 2 * len(workers):
                task = pending.pop(0)
                asked[task[1]] = task[2]
                tasks.put(task)
                outstanding += 1
            try:
                name, kind, seconds, cpu, peak, text, detail = results.get(timeout=0.5)
                if kind == "chunk-done":
                    outstanding -= 1
                    short = asked.pop(seconds, 0) - cpu  # (its seed, inputs run): hypothesis may stop early
                    if short > 0 and cpu > 0 and not timed_out:
                        pending.insert(0, (name, seconds + 700_000_000, short))
                else:
                    stats[name].add(kind, seconds, cpu, peak, text, detail)
            except queue.Empty:
                pass
            now = time.monotonic()
            for i, w in enumerate(workers):
                stuck = w.started.value and now - w.started.value > hard
                if stuck or not w.process.is_alive():
                    text = bytes(w.current.value).decode("utf-8", "replace")
                    name, _, rest = bytes(w.holding.value).decode().partition("|")
                    name = name or None
                    state = _state(w.process.pid) if stuck else ""
                    if stuck:
                        w.process.kill()
                        w.process.join()
                    reason = (f"still running after {hard:g} s (killed; {state})" if stuck
                              else f"the worker died (exit code {w.process.exitcode})")
                    kind = "hang" if stuck else "failure"
                    if stuck and name is not None:  # a hang is an input that hangs again in a fresh process
                        kind, again = _replay(_saved(scratch, w.process.pid))
                        kind = "stall" if kind in ("ok", "input-error") else kind
                        reason += f"; run again in a fresh process: {again}"
                    if name is not None:
                        stats[name].add(kind, now - (w.started.value or now), 0.0, None, text, reason)
                    print(f"  worker {i}: {reason}; input: {text}", flush=True)
                    if name is not None:  # the rest of its chunk, with another seed
                        seed, n = map(int, rest.split("|"))
                        left = n - w.done.value - 1
                        outstanding -= 1
                        if left > 0:
                            pending.insert(0, (name, seed + 500_000_000, left))
                    workers[i] = _start(ctx, scratch, tasks, results, stop)
            if now - last_note > 30:
                done = sum(s.inputs for s in stats.values())
                print(f"  {done} inputs, {now - began:.0f} s", flush=True)
                last_note = now
    except KeyboardInterrupt:
        print("interrupted: the figures so far", flush=True)
    finally:
        stop.set()
        for w in workers:
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return report(stats, time.monotonic() - began)


def _saved(scratch: str, pid: int) -> str:
    return os.path.join(scratch, f"input-{pid}.pickle")


def _replay(path: str) -> tuple[str, str]:
    """(kind, what happened) of the saved input run again in a fresh process under the same limits."""
    import subprocess

    from fuzzing import TIME_LIMIT

    try:
        proc = subprocess.run([sys.executable, __file__, "--replay", path], capture_output=True, text=True,
                              timeout=3 * TIME_LIMIT + 60, check=False)
    except subprocess.TimeoutExpired:
        return "hang", "stuck again"
    kind, _, detail = (proc.stdout.strip().splitlines() or ["failure\tno answer"])[-1].partition("\t")
    return (kind, f"{kind} in {detail}") if kind in KINDS else ("failure", f"exit {proc.returncode}: {proc.stderr[-300:]}")


def _replay_here(path: str) -> int:
    import pickle

    from fuzz_targets import TARGETS
    from fuzzing import attempt

    with open(path, "rb") as fh:
        name, example = pickle.load(fh)
    TARGETS[name].warm()
    outcome = attempt(TARGETS[name], example)
    print(f"{outcome.kind}\t{outcome.seconds:.3f} s ({outcome.cpu:.3f} s of CPU) {outcome.detail}")
    return 0


def _state(pid: int) -> str:
    """Where the kernel holds each thread of a stuck worker (Linux): state and wait channel."""
    try:
        threads = sorted(Path(f"/proc/{pid}/task").iterdir())
        return ", ".join(f"{t.name}: {(t / 'stat').read_text().rsplit(')', 1)[1].split()[0]} "
                         f"{(t / 'wchan').read_text() or '-'}" for t in threads[:8])
    except OSError:
        return "state unknown"


def report(stats: dict[str, Stats], wall: float) -> int:
    heads = ("target", "inputs", "input errors", "failures", "known", "hangs", "memory", "wrong rows", "stalls",
             "slowest s", "peak MB")
    rows = []
    for name, s in stats.items():
        rows.append((name, s.inputs, s.kinds["input-error"], s.kinds["failure"], s.kinds["known"], s.kinds["hang"],
                     s.kinds["memory"], s.kinds["wrong-rows"], s.kinds["stall"], f"{s.slowest[0]:.3f}",
                     f"{s.peak / 2**20:.0f}"))
    total = Stats()
    for s in stats.values():
        total.inputs += s.inputs
        for k in KINDS:
            total.kinds[k] += s.kinds[k]
    rows.append(("total", total.inputs, total.kinds["input-error"], total.kinds["failure"], total.kinds["known"],
                 total.kinds["hang"], total.kinds["memory"], total.kinds["wrong-rows"], total.kinds["stall"],
                 f"{max(s.slowest[0] for s in stats.values()):.3f}", f"{max(s.peak for s in stats.values()) / 2**20:.0f}"))
    widths = [max(len(str(r[i])) for r in (heads, *rows)) for i in range(len(heads))]
    print()
    for r in (heads, *rows):
        print("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths))))
    print()
    for name, s in stats.items():
        print(f"{name}: slowest {s.slowest[0]:.3f} s ({s.slowest[1]:.3f} s of CPU): {s.slowest[2]}")
        for kind, text in s.first.items():
            print(f"{name}: first {kind}: {text}")
    bad = sum(total.kinds[k] for k in BAD)
    print(f"\n{total.inputs} inputs in {wall:.0f} s: {bad} failures, hangs, memory or row-count errors "
          f"({total.kinds['known']} of them known, reported), {total.kinds['input-error']} one-line input errors, "
          f"{total.kinds['stall']} stalled workers whose input then ran normally")
    if total.kinds["known"]:
        from fuzzing import KNOWN

        for name, (what, _) in KNOWN.items():
            print(f"known {name}: {what}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
