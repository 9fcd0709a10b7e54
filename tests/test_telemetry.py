"""Spans, span events and metrics, read back from the SDK's in-memory exporter and reader.

Providers are handed to the instrumentor, as an application does with any OpenTelemetry
instrumentation, so each test has its own and the process-wide globals stay untouched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import asyncwarden
from asyncwarden import _config, _observers
from asyncwarden._findings import _delivery
from asyncwarden._findings._finding import Finding
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _control
from asyncwarden._tracking._callsite import CallSite
from asyncwarden.instrumentation import AsyncWardenInstrumentor


@dataclasses.dataclass
class Telemetry:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider

    def finished(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if name is None or s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.finished(name)
        assert len(found) == 1, [s.name for s in self.finished()]
        return found[0]

    def points(self, metric: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for m in scope.metrics
            if m.name == metric
            for point in m.data.data_points
        ]


@pytest.fixture
def otel(fresh: None) -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = AsyncWardenInstrumentor()
    with asyncwarden.guarded("warn"):
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            yield Telemetry(exporter, reader, tracer_provider)
        finally:
            instrumentor.uninstrument()


async def _partition(i: int, delay: float = 0) -> pd.DataFrame:
    await asyncio.sleep(delay)
    return pd.DataFrame({"day": [i], "value": [10 * i]})


async def _failing(i: int) -> pd.DataFrame:
    await asyncio.sleep(0)
    raise OSError("unreadable")


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _wrong_pipeline(tracer: trace.Tracer, n: int = 4) -> pd.DataFrame:
    """wait(), then concat over the done set taken in an order that is not submission order."""

    async def main() -> pd.DataFrame:
        with tracer.start_as_current_span("etl"):
            # Not tests.conftest.in_reverse_completion: the batch span must name this file.
            ready = [asyncio.Event() for _ in range(n)]

            async def load(i: int) -> pd.DataFrame:
                await ready[i].wait()
                return await _partition(i)

            pending = {asyncio.create_task(load(i)) for i in range(n)}
            frames: list[pd.DataFrame] = []
            for i in reversed(range(n)):
                ready[i].set()  # exactly one member can finish before this wait() returns
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                frames += [t.result() for t in done]
            return pd.concat(frames).reset_index(drop=True)  # reads the rows as they came

    return asyncio.run(main())


def test_combine_sources_give_consecutive_positions_of_a_batch_as_one_run(otel: Telemetry) -> None:
    async def main() -> pd.DataFrame:
        first = await asyncio.gather(*(_partition(i) for i in range(4)))
        second = await asyncio.gather(*(_partition(i) for i in range(2)))
        # Batch one whole and in order, then batch two's two frames, then batch one's first again.
        return pd.concat([*first, second[1], second[0], first[0]])

    asyncio.run(main())
    one, two = (_attrs(s)[sc.BATCH_ID] for s in otel.finished(sc.SPAN_BATCH))
    combine = _attrs(otel.one(sc.SPAN_COMBINE))
    assert combine[sc.COMBINE_INPUTS] == 7
    assert combine[sc.COMBINE_SOURCES] == (f"{one}:0-3", f"{two}:1", f"{two}:0", f"{one}:0")


def test_wrong_pipeline_yields_batch_span_concat_span_with_aw101_and_finding_counter(
    otel: Telemetry,
) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with pytest.warns(asyncwarden.UnorderedConcatWarning):
        _wrong_pipeline(tracer)
    etl = otel.one("etl")
    # One batch, taken up by four wait() calls: the first call's span is the batch's.
    batches = sorted(otel.finished(sc.SPAN_BATCH), key=lambda span: span.start_time or 0)
    assert len(batches) == 4
    batch = batches[0]
    combine = otel.one(sc.SPAN_COMBINE)
    assert batch.parent is not None and batch.parent.span_id == etl.context.span_id
    assert combine.parent is not None and combine.parent.span_id == etl.context.span_id
    attributes = _attrs(batch)
    assert attributes[sc.BATCH_KIND] == "wait"
    assert attributes[sc.BATCH_SIZE] == 4
    assert attributes[sc.BATCH_DONE] == 1
    assert attributes[sc.BATCH_PENDING] == 3
    assert attributes[sc.BATCH_RETURN_WHEN] == "FIRST_COMPLETED"
    assert attributes[sc.BATCH_SUBMISSION_ORDER] == (0, 1, 2, 3)
    assert attributes[sc.BATCH_CONSUMED_ORDER] == (3,)
    assert attributes[sc.CODE_FILEPATH] == __file__
    assert attributes[sc.CODE_FUNCTION].endswith("main")  # qualified from 3.11 on
    assert batch.start_time is not None and batch.end_time is not None
    assert batch.start_time <= batch.end_time <= (combine.start_time or 0)
    combined = _attrs(combine)
    assert combined[sc.COMBINE_OPERATION] == "concat"
    assert combined[sc.COMBINE_INPUTS] == 4
    assert combined[sc.COMBINE_ROWS_IN] == (1, 1, 1, 1)
    assert combined[sc.COMBINE_ROWS_OUT] == 4
    assert combined[sc.COMBINE_BATCHES] == (attributes[sc.BATCH_ID],)
    assert combined[sc.COMBINE_SOURCES] == tuple(
        f"{attributes[sc.BATCH_ID]}:{p}" for p in (3, 2, 1, 0)
    )
    assert [link.context.span_id for link in combine.links] == [batch.context.span_id]
    (event,) = combine.events
    assert event.name == "AW101"
    fields = dict(event.attributes or {})
    assert fields[sc.FINDING_CODE] == "AW101"
    assert fields[sc.FINDING_NAME] == "unordered-concat"
    assert "[3, 2, 1, 0]" in fields[sc.FINDING_MESSAGE]
    assert any(site.startswith("asyncio.wait() #") for site in fields[sc.FINDING_SITES])
    assert combine.status.status_code is StatusCode.ERROR
    assert (combine.status.description or "").startswith("AW101 unordered-concat: ")
    assert batch.status.status_code is StatusCode.UNSET
    (count,) = otel.points(sc.METRIC_FINDINGS)
    assert dict(count.attributes) == {sc.METRIC_RULE_ATTRIBUTE: "AW101"}
    assert count.value == 1
    (duration,) = otel.points(sc.METRIC_BATCH_DURATION)
    assert dict(duration.attributes) == {sc.METRIC_KIND_ATTRIBUTE: "wait"}
    assert duration.count == 4
    (size,) = otel.points(sc.METRIC_BATCH_SIZE)
    assert size.sum == 4 + 3 + 2 + 1


def test_batch_span_is_parented_by_the_users_span_and_parents_none_of_the_users_spans(
    otel: Telemetry,
) -> None:
    tracer = otel.tracer_provider.get_tracer("app")

    async def work(i: int) -> int:
        with tracer.start_as_current_span(f"work-{i}"):
            await asyncio.sleep(0)
        return i

    async def main() -> list[int]:
        with tracer.start_as_current_span("request"):
            return await asyncio.gather(*(work(i) for i in range(3)))

    assert asyncio.run(main()) == [0, 1, 2]
    request = otel.one("request")
    batch = otel.one(sc.SPAN_BATCH)
    assert batch.parent is not None and batch.parent.span_id == request.context.span_id
    for i in range(3):
        work_span = otel.one(f"work-{i}")
        assert work_span.parent is not None
        assert work_span.parent.span_id == request.context.span_id
    ours = {s.context.span_id for s in otel.finished() if s.name.startswith("asyncwarden.")}
    users = [s for s in otel.finished() if not s.name.startswith("asyncwarden.")]
    assert all(s.parent is None or s.parent.span_id not in ours for s in users)


def test_gather_span_counts_failed_members_and_says_return_exceptions(otel: Telemetry) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(
            _partition(0), _failing(1), _partition(2), return_exceptions=True
        )

    results = asyncio.run(main())
    assert isinstance(results[1], OSError)
    attributes = _attrs(otel.one(sc.SPAN_BATCH))
    assert attributes[sc.BATCH_KIND] == "gather"
    assert attributes[sc.BATCH_RETURN_EXCEPTIONS] is True
    assert (attributes[sc.BATCH_DONE], attributes[sc.BATCH_FAILED]) == (3, 1)
    assert attributes[sc.BATCH_CANCELLED] == 0
    assert attributes[sc.BATCH_CONSUMED_ORDER] == (0, 1, 2)
    assert sc.BATCH_RETURN_WHEN not in attributes


def test_wait_with_a_timeout_counts_pending_members(otel: Telemetry) -> None:
    async def main() -> None:
        tasks = [
            asyncio.create_task(_partition(0)),
            asyncio.create_task(_partition(1, delay=5)),
        ]
        _, pending = await asyncio.wait(tasks, timeout=0.05)
        assert len(pending) == 1
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    asyncio.run(main())
    wait_span = next(s for s in otel.finished(sc.SPAN_BATCH) if _attrs(s)[sc.BATCH_KIND] == "wait")
    attributes = _attrs(wait_span)
    assert attributes[sc.BATCH_TIMEOUT] == 0.05
    assert (attributes[sc.BATCH_DONE], attributes[sc.BATCH_PENDING]) == (1, 1)
    assert attributes[sc.BATCH_CONSUMED_ORDER] == (0,)


def test_as_completed_span_carries_completion_order(otel: Telemetry) -> None:
    async def main() -> list[int]:
        tasks = [
            asyncio.create_task(_partition(0, delay=0.03)),
            asyncio.create_task(_partition(1, delay=0.0)),
            asyncio.create_task(_partition(2, delay=0.015)),
        ]
        return [int((await next_done)["day"].iloc[0]) for next_done in asyncio.as_completed(tasks)]

    arrived = asyncio.run(main())
    attributes = _attrs(otel.one(sc.SPAN_BATCH))
    assert attributes[sc.BATCH_KIND] == "as_completed"
    assert list(attributes[sc.BATCH_COMPLETION_ORDER]) == arrived
    assert list(attributes[sc.BATCH_CONSUMED_ORDER]) == arrived


def test_as_completed_span_counts_a_member_listed_twice_once(otel: Telemetry) -> None:
    async def main() -> int:
        first, second = (asyncio.create_task(_partition(i)) for i in range(2))
        return len([await next_done for next_done in asyncio.as_completed([first, second, first])])

    handed_out = asyncio.run(main())
    attributes = _attrs(otel.one(sc.SPAN_BATCH))
    assert handed_out == 2  # asyncio hands out each distinct member once
    assert attributes[sc.BATCH_SIZE] == handed_out
    assert (attributes[sc.BATCH_DONE], attributes[sc.BATCH_PENDING]) == (handed_out, 0)


def test_as_completed_span_counts_a_coroutine_listed_twice_once(otel: Telemetry) -> None:
    async def main() -> int:
        first = _partition(0)
        listed = [first, _partition(1), first]
        return len([await next_done for next_done in asyncio.as_completed(listed)])

    handed_out = asyncio.run(main())
    attributes = _attrs(otel.one(sc.SPAN_BATCH))
    assert handed_out == 2  # asyncio makes one task of a coroutine listed twice
    assert attributes[sc.BATCH_SIZE] == handed_out
    assert (attributes[sc.BATCH_DONE], attributes[sc.BATCH_PENDING]) == (handed_out, 0)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_taskgroup_gets_one_span_with_its_members_counted(otel: Telemetry) -> None:
    async def main() -> None:
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            for i in range(3):
                group.create_task(_partition(i))

    asyncio.run(main())
    attributes = _attrs(otel.one(sc.SPAN_BATCH))
    assert attributes[sc.BATCH_KIND] == "taskgroup"
    assert (attributes[sc.BATCH_SIZE], attributes[sc.BATCH_DONE]) == (3, 3)


def test_task_spans_are_off_by_default(otel: Telemetry) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(*(_partition(i) for i in range(3)))

    asyncio.run(main())
    assert otel.finished(sc.SPAN_TASK) == []


def test_task_spans_are_opt_in_capped_per_batch_and_children_of_the_batch_span(
    otel: Telemetry,
) -> None:
    _config.CONFIG.settings = dataclasses.replace(_config.CONFIG.settings, task_spans=3)

    async def main() -> list[Any]:
        return await asyncio.gather(
            _partition(0, delay=0.02),
            _failing(1),
            *(_partition(i) for i in range(2, 6)),
            return_exceptions=True,
        )

    asyncio.run(main())
    batch = otel.one(sc.SPAN_BATCH)
    tasks = sorted(otel.finished(sc.SPAN_TASK), key=lambda s: _attrs(s)[sc.TASK_POSITION])
    assert [_attrs(s)[sc.TASK_POSITION] for s in tasks] == [0, 1, 2]
    assert all(s.parent is not None and s.parent.span_id == batch.context.span_id for s in tasks)
    first, failed, _ = tasks
    assert _attrs(first)[sc.TASK_OUTCOME] == "ok"
    assert _attrs(first)[sc.TASK_OUTCOME_TYPE] == "DataFrame"
    assert _attrs(first)[sc.TASK_COROUTINE] == "_partition"
    assert _attrs(failed)[sc.TASK_OUTCOME] == "failed"
    assert _attrs(failed)[sc.TASK_OUTCOME_TYPE] == "OSError"
    assert failed.status.status_code is StatusCode.ERROR
    # Each task span ends when its task did: the slow first one last.
    assert (first.end_time or 0) > (failed.end_time or 0)
    assert list(_attrs(batch)[sc.BATCH_COMPLETION_ORDER])[-1] == 0


def test_an_allowed_finding_is_neither_an_event_nor_counted(otel: Telemetry) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with asyncwarden.allow("AW101"):
        _wrong_pipeline(tracer)
    combine = otel.one(sc.SPAN_COMBINE)
    assert combine.events == ()
    assert combine.status.status_code is StatusCode.UNSET
    assert otel.points(sc.METRIC_FINDINGS) == []


def test_gather_into_concat_is_a_clean_combine_span(otel: Telemetry) -> None:
    async def main() -> pd.DataFrame:
        return pd.concat(await asyncio.gather(*(_partition(i) for i in range(3))))

    assert asyncio.run(main())["day"].tolist() == [0, 1, 2]
    combine = otel.one(sc.SPAN_COMBINE)
    assert combine.events == ()
    assert combine.status.status_code is StatusCode.UNSET


def test_a_finding_detected_outside_any_span_of_ours_gets_a_finding_span(
    otel: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sites are shown relative to the working directory; code.filepath keeps the whole path.
    monkeypatch.chdir(Path(__file__).parent)

    async def main() -> list[Any]:
        return await asyncio.gather(_partition(0))

    asyncio.run(main())
    batch = otel.one(sc.SPAN_BATCH)
    site = CallSite(__file__, 7, "main")
    finding = Finding(
        code="AW301",
        name="pending-at-shutdown",
        title="1 task still pending when the loop shut down",
        message="tasks     position 0",
        fix="cancel and await",
        site=site,
        sites=(("created", site),),
        batch_ids=(_attrs(batch)[sc.BATCH_ID],),
    )
    with pytest.warns(asyncwarden.PendingAtShutdownWarning):
        _delivery.deliver(finding)
    span = otel.one(sc.SPAN_FINDING)
    (event,) = span.events
    assert event.name == "AW301"
    assert dict(event.attributes or {})[sc.FINDING_SITES] == (
        "created: test_telemetry.py:7 in main",
    )
    assert span.status.status_code is StatusCode.ERROR
    assert [link.context.span_id for link in span.links] == [batch.context.span_id]
    assert _attrs(span)[sc.CODE_LINENO] == 7
    (count,) = otel.points(sc.METRIC_FINDINGS)
    assert dict(count.attributes) == {sc.METRIC_RULE_ATTRIBUTE: "AW301"}


def test_pending_at_shutdown_adds_to_its_counter(otel: Telemetry) -> None:
    _observers.pending_at_shutdown(3)
    _observers.pending_at_shutdown(0)
    (point,) = otel.points(sc.METRIC_PENDING_AT_SHUTDOWN)
    assert point.value == 3


def test_with_nowhere_to_send_telemetry_nothing_stays_registered(guard: None) -> None:
    async def main() -> list[Any]:
        return await asyncio.gather(_partition(0))

    asyncio.run(main())  # the first batch's probe looks once, finds nothing, removes itself
    assert not _control.is_active()
    assert _ours() == []


@pytest.mark.usefixtures("fresh")
def test_telemetry_observers_go_away_with_the_guard() -> None:
    provider = TracerProvider()
    instrumentor = AsyncWardenInstrumentor()
    with asyncwarden.guarded("warn"):
        instrumentor.instrument(tracer_provider=provider)
        assert _control.is_active()
        assert len(_ours()) == 4
        instrumentor.uninstrument()
    assert not _control.is_active()
    assert _ours() == []


def _ours() -> list[Any]:
    """Telemetry's hooks among the observers and sinks (other guards register their own)."""
    hooks = [
        *_observers.on_batch_started,
        *_observers.on_batch_finished,
        *_observers.on_combined,
        *_delivery.sinks,
    ]
    return [
        hook
        for hook in hooks
        if getattr(hook, "__module__", "").startswith("asyncwarden._sinks._telemetry")
    ]
