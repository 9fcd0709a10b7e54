"""structlog events in-process: through the application's structlog or stdlib configuration.

The JSON renderer of ``ASYNCWARDEN_LOG=json`` and the quiet console default are tested as users
run them, in tests/e2e/test_telemetry_e2e.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pandas as pd
import pytest
import structlog
from structlog.testing import capture_logs

import asyncwarden
from asyncwarden._config import LogFormat
from asyncwarden._sinks import _log
from asyncwarden._sinks import _semconv as sc
from asyncwarden._sinks._telemetry import _control
from tests.conftest import in_reverse_completion


async def _partition(i: int) -> pd.DataFrame:
    await asyncio.sleep(0)
    return pd.DataFrame({"day": [i]})


def _wrong_pipeline(n: int = 3) -> pd.DataFrame:
    async def main() -> pd.DataFrame:
        frames = await in_reverse_completion(n, _partition)
        return pd.concat(frames).reset_index(drop=True)  # reads the rows as they came

    with pytest.warns(asyncwarden.UnorderedConcatWarning):
        return _wrong_pipeline_run(main)


def _wrong_pipeline_run(main: object) -> pd.DataFrame:
    return asyncio.run(main())  # type: ignore[operator]


@pytest.fixture
def guard_with_logs(fresh: None) -> Iterator[None]:
    configured, config = structlog.is_configured(), structlog.get_config()
    structlog.reset_defaults()  # the application has configured nothing, until a test says so
    with asyncwarden.guarded("warn"):
        yield
    if configured:
        structlog.configure(**config)
    else:
        structlog.reset_defaults()


def test_findings_go_through_the_applications_structlog_configuration(
    guard_with_logs: None,
) -> None:
    with capture_logs() as events:
        _wrong_pipeline()
    (finding,) = [e for e in events if e["event"] == sc.EVENT_FINDING]
    assert finding["log_level"] == "warning"
    assert finding["rule"] == "AW101"
    assert finding["name"] == "unordered-concat"
    assert finding["file"] == __file__
    assert isinstance(finding["line"], int)
    assert finding["batch_ids"] and all(isinstance(i, int) for i in finding["batch_ids"])
    # The file in full above; the sites as on the terminal, relative to the working directory.
    assert f"pandas.concat(): {os.path.relpath(__file__)}:" in " ".join(finding["sites"])
    # Console mode activates no telemetry: no batch or combine events, only the finding.
    assert [e["event"] for e in events] == [sc.EVENT_FINDING]


def test_json_mode_sends_batch_and_combine_events_through_the_applications_structlog(
    guard_with_logs: None,
) -> None:
    asyncwarden.install("warn", log=LogFormat.JSON)
    assert _control.is_active()  # at once, not only from the first batch on
    with capture_logs() as events:
        _wrong_pipeline()
    by_name = {e["event"]: e for e in events}
    assert {sc.EVENT_BATCH, sc.EVENT_COMBINE, sc.EVENT_FINDING} <= set(by_name)
    # The first wait() of the FIRST_COMPLETED loop: one member done, two still pending.
    batch = next(e for e in events if e["event"] == sc.EVENT_BATCH)
    assert batch["log_level"] == "debug"
    assert (batch["kind"], batch["size"], batch["done"], batch["pending"]) == ("wait", 3, 1, 2)
    assert batch["duration_s"] >= 0
    combine = by_name[sc.EVENT_COMBINE]
    assert (combine["operation"], combine["rows_in"], combine["rows_out"]) == (
        "concat",
        [1, 1, 1],
        3,
    )
    assert combine["batch_ids"] == [batch["batch_id"]]
    assert combine["findings"] == ["AW101"]


def test_levels_the_applications_filtering_structlog_drops_are_not_built(
    guard_with_logs: None,
) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    assert _log.route("debug") is None  # batch and combine events: not even their fields
    assert _log.route("warning") is _log._to_app_structlog  # findings still go through
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    assert _log.route("debug") is _log._to_app_structlog


def test_off_sends_nothing_even_to_a_configured_structlog(guard_with_logs: None) -> None:
    asyncwarden.install("warn", log=LogFormat.OFF)
    with capture_logs() as events:
        _wrong_pipeline()
    assert events == []


def test_without_structlog_configured_findings_go_to_stdlib_logging(
    guard_with_logs: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert not structlog.is_configured()
    caplog.set_level(logging.DEBUG, logger=_log.LOGGER_NAME)
    _wrong_pipeline()
    (record,) = [r for r in caplog.records if r.name == _log.LOGGER_NAME]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("event=asyncwarden.finding rule=AW101 ")
    fields = record.asyncwarden  # type: ignore[attr-defined]
    assert fields["event"] == sc.EVENT_FINDING
    assert fields["rule"] == "AW101"


def test_stdlib_level_filters_before_anything_is_rendered(
    guard_with_logs: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=_log.LOGGER_NAME)
    _wrong_pipeline()
    assert [r for r in caplog.records if r.name == _log.LOGGER_NAME] == []
