"""The timed workloads and the arms they are compared under, run inside one worker process.

A worker measures one arm against the unguarded program in the same interpreter: each round runs
the workload once unguarded and once with the arm switched on, alternating which goes first
(A B, B A, ...), so drift in the machine's speed falls on both sides alike. Every sample starts
from a collected heap (``gc.collect()``); the collector stays on while timing, because the garbage
a guard makes is part of what it costs.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

# CPU time of this process by default: the machine may be shared (two cores, other builds running),
# and time spent descheduled is nobody's overhead. ``run.py --wall`` switches to wall-clock time.
clock: Callable[[], float] = time.process_time

# -- asyncio workloads --------------------------------------------------------------------------


async def noop() -> None:
    """A trivial task: returns at its first step."""


async def sleeper() -> None:
    """A task that yields to the loop once."""
    await asyncio.sleep(0)


async def run_gather(n: int) -> None:
    await asyncio.gather(*[noop() for _ in range(n)])


async def run_wait(n: int) -> None:
    await asyncio.wait([asyncio.ensure_future(noop()) for _ in range(n)])


async def run_as_completed(n: int) -> None:
    for next_done in asyncio.as_completed([asyncio.ensure_future(noop()) for _ in range(n)]):
        await next_done


async def run_as_completed_async(n: int) -> None:
    # 3.13+: as_completed is also an async iterator, handing out the finished tasks themselves.
    tasks = [asyncio.ensure_future(noop()) for _ in range(n)]
    async for done in asyncio.as_completed(tasks):  # type: ignore[attr-defined,unused-ignore]
        await done


async def run_taskgroup(n: int) -> None:
    async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
        for _ in range(n):
            group.create_task(noop())


async def run_batches(n: int) -> None:
    # n is the total number of tasks: sqrt(n) batches of sqrt(n) (100 x 100 for 10,000).
    side = max(1, round(n**0.5))
    for _ in range(side):
        await asyncio.gather(*[sleeper() for _ in range(side)])


ASYNCIO_WORKLOADS: dict[str, Callable[[int], Awaitable[None]]] = {
    "gather": run_gather,
    "wait": run_wait,
    "as_completed": run_as_completed,
    "taskgroup": run_taskgroup,
    "batches": run_batches,
}
if sys.version_info >= (3, 13):
    ASYNCIO_WORKLOADS["as_completed_async"] = run_as_completed_async

# The fan-out APIs whose added cost per task must stay flat with the batch's size.
SCALING_APIS = ("gather", "wait", "as_completed", "taskgroup")


# -- thread pool workloads ----------------------------------------------------------------------


def trivial() -> None:
    """A trivial function for a pool's worker thread."""


def run_pool_wait(n: int) -> float:
    """Submit n trivial calls to a thread pool and wait() for them (pool start and shutdown not
    timed). ``concurrent.futures.wait`` is looked up at call time, as a program's call is."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        pool.submit(trivial).result()  # the worker threads are started before the clock
        start = clock()
        concurrent.futures.wait([pool.submit(trivial) for _ in range(n)])
        return clock() - start


POOL_WORKLOADS: dict[str, Callable[[int], float]] = {"pool_wait": run_pool_wait}


def time_pool(workload: Callable[[int], float], n: int) -> float:
    gc.collect()
    return workload(n)


def time_asyncio(workload: Callable[[int], Awaitable[None]], n: int, debug: bool) -> float:
    """Seconds ``asyncio.run`` of the workload takes, as a program pays them.

    The run's shutdown is part of it: ``asyncio.run`` walks the tasks still alive at its end, so
    a guard that kept its members alive (a reference cycle) paid there, unseen while only the
    workload's own coroutine was timed.
    """
    gc.collect()
    start = clock()
    asyncio.run(workload(n), debug=debug)  # type: ignore[arg-type]
    return clock() - start


# -- pandas workloads ---------------------------------------------------------------------------


class Frames:
    """Frames that came out of tasks, made once per worker with the guard on: they are tracked."""

    def __init__(self, small_counts: tuple[int, ...], merge_rows: int, partitions: int = 0) -> None:
        import asyncwarden

        self.small: dict[int, list[Any]] = {}
        self.merge_rows = merge_rows
        self.left: Any = None
        self.right: Any = None
        self.partitions: list[Any] = []
        self.stores: Any = None
        with asyncwarden.guarded("warn"):
            for count in small_counts:
                self.small[count] = asyncio.run(self._small_frames(count))
            if merge_rows:
                self.left, self.right = asyncio.run(self._big_frames(merge_rows))
            if partitions:
                self.partitions, self.stores = asyncio.run(self._partitions(partitions))

    @staticmethod
    async def _partitions(count: int) -> tuple[list[Any], Any]:
        import numpy as np
        import pandas as pd

        async def load(day: int) -> Any:
            generator = np.random.default_rng(day)
            return pd.DataFrame(
                {
                    "day": day,
                    "store": generator.integers(0, 50, 100),
                    "amount": generator.random(100) * 100,
                    "note": np.where(generator.random(100) > 0.9, None, "ok"),
                }
            )

        frames = list(await asyncio.gather(*[load(day) for day in range(count)]))
        stores = pd.DataFrame({"store": range(50), "region": [f"r{i % 5}" for i in range(50)]})
        return frames, stores

    @staticmethod
    async def _small_frames(count: int) -> list[Any]:
        import pandas as pd

        async def load(part: int) -> Any:
            return pd.DataFrame({"part": [part] * 8, "value": range(8), "label": ["x"] * 8})

        return list(await asyncio.gather(*[load(i) for i in range(count)]))

    @staticmethod
    async def _big_frames(rows: int) -> list[Any]:
        import numpy as np
        import pandas as pd

        async def load(seed: int) -> Any:
            generator = np.random.default_rng(seed)
            keys = generator.permutation(rows)
            return pd.DataFrame({"key": keys, f"v{seed}": generator.random(rows)})

        return list(await asyncio.gather(load(1), load(2)))


def time_concat(frames: list[Any], repeat: int) -> float:
    import pandas as pd

    gc.collect()
    start = clock()
    for _ in range(repeat):
        pd.concat(frames)
    return (clock() - start) / repeat


def time_pipeline(partitions: list[Any], stores: Any) -> float:
    """Ten ordinary transformations of each task's frame, then a concat and a merge.

    The partitions came out of tasks, so each transformation's result is a frame the guard
    follows (``NDFrame.__finalize__``): the cost of lineage through transformations.
    """
    import pandas as pd

    gc.collect()
    start = clock()
    shaped = []
    for frame in partitions:
        part = frame.assign(net=frame["amount"] * 0.8)
        part = part.rename(columns={"amount": "gross"})
        part = part.astype({"store": "int32"})
        part = part[part["gross"] > 1.0]
        part = part.dropna()
        part = part.fillna({"note": ""})
        part = part[["day", "store", "gross", "net"]]
        part = part.query("net >= 0")
        part = part.reset_index(drop=True)
        shaped.append(part.copy())
    combined = pd.concat(shaped, ignore_index=True)
    combined.merge(stores, on="store", how="left", validate="many_to_one")
    return clock() - start


def etl_inputs(partitions: int, rows: int) -> tuple[list[Any], Any]:
    """Per partition the columns a loader would read (numpy arrays), and the dimension table."""
    import numpy as np
    import pandas as pd

    columns = []
    for day in range(partitions):
        generator = np.random.default_rng(day)
        columns.append(
            {
                "day": np.full(rows, day),
                "store": generator.integers(0, 50, rows),
                "amount": generator.random(rows) * 100,
            }
        )
    stores = pd.DataFrame({"store": range(50), "region": [f"r{i % 5}" for i in range(50)]})
    return columns, stores


async def run_etl(columns: list[Any], stores: Any) -> tuple[float, float, float, Any]:
    """A realistic fan-out: a task loads each partition into a frame, ``wait()`` for all of them,
    concatenate them in partition order, merge the dimension table in.

    Returns the CPU time of the three steps and the combined frame (``etl_parts.py`` reads
    both; ``time_etl`` drops them inside its clock, so its sample is the whole run as before).
    """
    import pandas as pd

    async def load(part: Any) -> Any:
        await asyncio.sleep(0)  # the I/O a real loader waits for
        return pd.DataFrame(part)

    start = clock()
    tasks = [asyncio.ensure_future(load(part)) for part in columns]
    await asyncio.wait(tasks)
    loaded = clock()
    combined = pd.concat([task.result() for task in tasks], ignore_index=True)
    concatenated = clock()
    combined.merge(stores, on="store", how="left", validate="many_to_one")
    return loaded - start, concatenated - loaded, clock() - concatenated, combined


def time_etl(columns: list[Any], stores: Any) -> float:
    gc.collect()
    start = clock()
    asyncio.run(run_etl(columns, stores))
    return clock() - start


def time_merge(left: Any, right: Any) -> float:
    import pandas as pd

    gc.collect()
    start = clock()
    pd.merge(left, right, on="key")
    return clock() - start


# -- arms ---------------------------------------------------------------------------------------


class Arm:
    """Something switched on around a workload: the guard, a peer, or nothing (the noise floor)."""

    name = "base"
    debug = False
    touches_pandas = True
    touches_pools = True

    def setup(self) -> None:
        """Once per worker process, before any sample."""

    def enable(self) -> None:
        """Switch on (before a sample of the arm)."""

    def disable(self) -> None:
        """Switch off (before a sample of the unguarded program)."""

    def describe(self) -> dict[str, Any]:
        """Facts a reader needs to trust the sample (e.g. that spans were really exported)."""
        return {}


class NullArm(Arm):
    """The unguarded program against itself: how far apart two identical arms land."""

    name = "noise"


# A regression injected into the guarded arm only, to prove ``run.py --check`` fails a real one
# (tests/test_benchmarks_smoke.py): "per-task-callback" gives every task a done-callback, the
# cost the guard's design avoids (a second round through the event loop per task).
INJECT = os.environ.get("AW_BENCH_INJECT", "")


def _noop_callback(future: Any) -> None:
    """The injected regression's done-callback."""


class WarnArm(Arm):
    name = "warn"

    def setup(self) -> None:
        from asyncio import base_events

        self._create_task = base_events.BaseEventLoop.create_task

    def enable(self) -> None:
        import asyncwarden

        asyncwarden.install("warn")
        if INJECT == "per-task-callback":
            from asyncio import base_events

            original = self._create_task

            def create_task(loop: Any, coro: Any, **options: Any) -> Any:
                task = original(loop, coro, **options)
                task.add_done_callback(_noop_callback)
                return task

            base_events.BaseEventLoop.create_task = create_task  # type: ignore[method-assign]

    def disable(self) -> None:
        from asyncio import base_events

        import asyncwarden

        base_events.BaseEventLoop.create_task = self._create_task  # type: ignore[method-assign]
        asyncwarden.uninstall()


class _MemorySdk:
    """An OpenTelemetry SDK whose spans and metrics go to memory (cleared between samples)."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.spans = 0

    def set_global(self) -> None:
        from opentelemetry import metrics, trace

        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)

    def drain(self) -> None:
        self.spans += len(self.exporter.get_finished_spans())
        self.exporter.clear()
        self.reader.get_metrics_data()  # collect, so cumulative state does not pile up unread


class WarnSdkArm(WarnArm):
    """Warn mode with an application SDK that exports to memory (default asyncwarden settings)."""

    name = "warn+sdk"

    def setup(self) -> None:
        super().setup()
        self.sdk = _MemorySdk()
        self.sdk.set_global()

    def disable(self) -> None:
        super().disable()
        self.sdk.drain()

    def describe(self) -> dict[str, Any]:
        self.sdk.drain()
        return {"spans_exported": self.sdk.spans}


class OtelArm(Arm):
    """OpenTelemetry's asyncio instrumentation with no SDK: the API's no-op tracer and meter."""

    name = "otel"
    touches_pandas = False
    touches_pools = False
    sdk: _MemorySdk | None = None

    def setup(self) -> None:
        # Trace every workload coroutine, so the instrumentation does per task what it is for.
        os.environ["OTEL_PYTHON_ASYNCIO_COROUTINE_NAMES_TO_TRACE"] = "noop,sleeper"
        from opentelemetry.instrumentation.asyncio import AsyncioInstrumentor

        self.instrumentor = AsyncioInstrumentor()

    def enable(self) -> None:
        if self.sdk is None:
            self.instrumentor.instrument()
        else:
            self.instrumentor.instrument(
                tracer_provider=self.sdk.tracer_provider, meter_provider=self.sdk.meter_provider
            )

    def disable(self) -> None:
        if self.instrumentor.is_instrumented_by_opentelemetry:
            self.instrumentor.uninstrument()
        if self.sdk is not None:
            self.sdk.drain()

    def describe(self) -> dict[str, Any]:
        if self.sdk is None:
            return {}
        self.sdk.drain()
        return {"spans_exported": self.sdk.spans}


class OtelSdkArm(OtelArm):
    name = "otel+sdk"

    def setup(self) -> None:
        super().setup()
        self.sdk = _MemorySdk()


class DebugArm(Arm):
    """asyncio's own debug mode (``asyncio.run(debug=True)``)."""

    name = "debug"
    touches_pandas = False
    touches_pools = False

    def setup(self) -> None:
        import logging

        # Debug mode logs every slow step; the log lines are not what is being compared.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    def enable(self) -> None:
        self.debug = True

    def disable(self) -> None:
        self.debug = False


ARMS: dict[str, type[Arm]] = {
    arm.name: arm for arm in (NullArm, WarnArm, WarnSdkArm, OtelArm, OtelSdkArm, DebugArm)
}


# -- the worker ---------------------------------------------------------------------------------


def available_workloads() -> list[str]:
    names = [name for name in ASYNCIO_WORKLOADS if name != "taskgroup"]
    if sys.version_info >= (3, 11):
        names.insert(3, "taskgroup")
    return [*names, *POOL_WORKLOADS]


def run_worker(
    arm_name: str,
    workloads: list[str],
    tasks: int,
    rounds: int,
    sizes: dict[str, int],
    concat_repeat: int = 0,
    rounds_for: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Measure every workload unguarded and under one arm, interleaved; return raw samples.

    ``rounds_for`` gives some workloads their own number of rounds (the largest scaling rows).
    """
    arm = ARMS[arm_name]()
    arm.setup()
    frames: Frames | None = None
    pandas_workloads = [w for w in workloads if w.startswith(("concat", "merge", "pipeline"))]
    if pandas_workloads and arm.touches_pandas:
        counts = tuple(sizes[w] for w in pandas_workloads if w.startswith("concat"))
        merge_rows = sizes.get("merge", 0) if "merge" in pandas_workloads else 0
        partitions = sizes.get("pipeline", 0) if "pipeline" in pandas_workloads else 0
        frames = Frames(counts, merge_rows, partitions)
    etl: tuple[list[Any], Any] | None = None
    if "etl" in workloads and arm.touches_pandas:
        etl = etl_inputs(sizes["etl"], sizes.get("etl_rows", 1_000))
    samples: dict[str, dict[str, list[float]]] = {}
    for workload in workloads:
        if workload in pandas_workloads and frames is None:
            continue
        if workload == "etl" and etl is None:
            continue
        if workload in POOL_WORKLOADS and not arm.touches_pools:
            continue
        if workload.startswith("scale-") and arm.name not in ("noise", "warn"):
            continue
        sample = _sampler(workload, arm, tasks, frames, sizes, concat_repeat, etl)
        warm = _warmer(workload, arm)
        # Warm-up, unguarded: first-call costs (imports, caches) are nobody's overhead. A scaling
        # row's smaller sizes ran just before it: its largest sizes need none.
        if not workload.startswith("scale-") or int(workload.rsplit("-", 1)[1]) <= 10_000:
            sample()
        # A scaling row also times the unguarded program a second time in each round, around
        # the guarded sample: its own noise, at the same moments (a separate noise worker ran
        # at other times, and load that came and went between them was not in its margin).
        order = ["base", "arm", "again"] if workload.startswith("scale-") else ["base", "arm"]
        taken: dict[str, list[float]] = {which: [] for which in order}
        for round_number in range((rounds_for or {}).get(workload, rounds)):
            for which in order if round_number % 2 == 0 else reversed(order):
                if which == "arm":
                    arm.enable()
                warm()
                taken[which].append(sample())
                if which == "arm":
                    arm.disable()
        samples[workload] = taken
    return {"arm": arm_name, "samples": samples, "facts": arm.describe(), "pid": os.getpid()}


def _warmer(workload: str, arm: Arm) -> Callable[[], None]:
    """An untimed run of ten tasks before each asyncio sample, unguarded or guarded alike.

    What runs once after ``install()`` (first calls through the patches, caches) is paid once
    in a program's life, not per batch, while a worker switches the arm on every round; the
    unguarded sample gets the same warm-up.
    """
    api = workload.split("-")[1] if workload.startswith("scale-") else workload
    function = ASYNCIO_WORKLOADS.get(api)
    if function is None:
        return lambda: None
    return lambda: asyncio.run(function(10), debug=arm.debug)  # type: ignore[arg-type]


def _sampler(
    workload: str,
    arm: Arm,
    tasks: int,
    frames: Frames | None,
    sizes: dict[str, int],
    concat_repeat: int,
    etl: tuple[list[Any], Any] | None = None,
) -> Callable[[], float]:
    if workload.startswith("scale-"):
        # "scale-<api>-<tasks>": one fan-out API at one batch size (run.py's scaling part).
        _, api, count = workload.split("-")
        scaled = ASYNCIO_WORKLOADS[api]
        return lambda: time_asyncio(scaled, int(count), arm.debug)
    if workload == "etl":
        assert etl is not None
        return lambda: time_etl(*etl)
    if workload in ASYNCIO_WORKLOADS:
        function = ASYNCIO_WORKLOADS[workload]
        return lambda: time_asyncio(function, tasks, arm.debug)
    if workload in POOL_WORKLOADS:
        pool_workload = POOL_WORKLOADS[workload]
        return lambda: time_pool(pool_workload, tasks)
    assert frames is not None
    if workload.startswith("concat"):
        small = frames.small[sizes[workload]]
        # Repeat a short concat so one sample lasts long enough for the clock.
        repeat = concat_repeat or max(1, 2000 // len(small))
        return lambda: time_concat(small, repeat)
    if workload == "pipeline":
        return lambda: time_pipeline(frames.partitions, frames.stores)
    return lambda: time_merge(frames.left, frames.right)
