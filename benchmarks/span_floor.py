"""The OpenTelemetry SDK's own cost of one span, beside a concat of 10 task-derived frames.

What no change inside asyncwarden can remove from the "warn + SDK" row of concat of 10 frames:
the same SDK as run.py's warn+SDK arm (SimpleSpanProcessor to an InMemorySpanExporter), the
unguarded concat alone, with a bare span after it, and with a span shaped like asyncwarden's
``asyncwarden.combine`` span (same attributes, one link); then the guard in warn mode without its
telemetry, with a stub observer that only makes that combine-shaped span (the SDK's share of
warn + SDK), and with its telemetry (the difference to the stub is asyncwarden's own code).
Paired and interleaved like run.py, CPU time, median of rounds; the same attributes are also
timed in a hot loop (span only).

    .venv/bin/python benchmarks/span_floor.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads

COUNT = 10


def _combine_attributes(count: int) -> dict[str, Any]:
    return {
        "asyncwarden.combine.operation": "concat",
        "asyncwarden.combine.inputs": count,
        "asyncwarden.combine.rows_in": [8] * count,
        "asyncwarden.combine.batch_ids": [1],
        "asyncwarden.combine.sources": [f"1:0-{count - 1}"],  # one run: a whole batch in order
        "code.file.path": "/srv/etl.py",
        "code.line.number": 12,
        "code.function.name": "main",
        "asyncwarden.combine.rows_out": 8 * count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds

    import pandas as pd
    from opentelemetry.trace import Link

    import asyncwarden
    from asyncwarden import _observers

    sdk = workloads._MemorySdk()
    sdk.set_global()
    frames = workloads.Frames((COUNT,), 0).small[COUNT]
    tracer = sdk.tracer_provider.get_tracer("span-floor")
    attributes = _combine_attributes(COUNT)
    batch_span = tracer.start_span("batch")
    link = Link(batch_span.get_span_context())
    batch_span.end()

    def bare_span() -> None:
        tracer.start_span("asyncwarden.combine").end()

    def combine_span() -> None:
        span = tracer.start_span(
            "asyncwarden.combine", attributes=attributes, links=[link], start_time=time.time_ns()
        )
        span.end(end_time=time.time_ns())

    def concat() -> None:
        pd.concat(frames)

    def with_bare() -> None:
        pd.concat(frames)
        bare_span()

    def with_combine() -> None:
        pd.concat(frames)
        combine_span()

    def stub_observer(*_: Any) -> None:
        combine_span()  # the SDK's work for the span, none of asyncwarden's telemetry code

    arms: dict[str, Callable[[], None]] = {
        "unguarded concat": concat,
        "+ bare span": with_bare,
        "+ combine span": with_combine,
        "warn, telemetry off": concat,
        "warn, stub observer": concat,
        "warn + SDK": concat,
    }
    samples: dict[str, list[float]] = {name: [] for name in arms}
    repeat = 2000 // COUNT
    for _ in range(rounds):
        names = list(arms)
        random.shuffle(names)
        for name in names:
            saved = None
            if name.startswith("warn"):
                asyncwarden.install("warn")
                if name != "warn + SDK":
                    saved = list(_observers.on_combined)
                    _observers.on_combined[:] = [stub_observer] if "stub" in name else []
            gc.collect()
            start = workloads.clock()
            for _ in range(repeat):
                arms[name]()
            samples[name].append((workloads.clock() - start) / repeat)
            if saved is not None:
                _observers.on_combined[:] = saved
            if name.startswith("warn"):
                asyncwarden.uninstall()
            sdk.drain()
    base = statistics.median(samples["unguarded concat"])
    print(f"concat of {COUNT} task-derived frames, {rounds} rounds of {repeat} (CPU time)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:20s} {median * 1e6:7.1f} us  {median / base:5.2f}x")
    for name, function in (("bare span", bare_span), ("combine span", combine_span)):
        best = []
        for _ in range(7):
            start = workloads.clock()
            for _ in range(300):
                function()
            best.append((workloads.clock() - start) / 300)
            sdk.drain()
        print(f"  hot loop, {name:13s} {min(best) * 1e6:6.1f} us")


if __name__ == "__main__":
    main()
