"""The guard for dask.distributed, against a real LocalCluster with two worker processes.

One cluster for the module (starting one costs seconds). Completion order is set by the test,
not by timing: each load waits on a distributed.Event of its own, set by the test one by one.
The guard is switched on per test, after this module imported distributed: ``wait`` and
``as_completed`` are read from the module at call time, as a program that imported them after
the guard was on would have them (README: the guard patches at import).
"""

from __future__ import annotations

import gc
import itertools
import operator
import warnings
import weakref
from collections.abc import Iterator

import distributed
import pandas as pd
import pytest
from distributed import Client, Event, LocalCluster

import asyncwarden
from asyncwarden import FindingError, IncompleteBatchWarning
from tests.conftest import run_python


def load(part: int, gate: str | None = None) -> pd.DataFrame:
    if gate is not None:
        Event(gate).wait(timeout=60)
    return pd.DataFrame({"part": [part, part], "value": [10 * part, 10 * part + 1]})


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


@pytest.mark.usefixtures("strict_guard")
def test_wait_done_set_into_concat_is_aw101_in_strict_mode(client: Client) -> None:
    futures = client.map(load, range(4))
    done, not_done = distributed.wait(futures)
    assert type(done) is set and not not_done
    with pytest.raises(FindingError) as raised:
        pd.concat([f.result() for f in done]).reset_index(drop=True)  # a use of the row order
    finding = raised.value.finding
    assert finding.code == "AW101"
    assert finding.site.filename == __file__
    assert any(role.startswith("distributed.wait() #") for role, _ in finding.sites)
    assert "client.gather(futures)" in finding.fix


@pytest.mark.usefixtures("strict_guard")
def test_gather_of_the_done_set_is_aw101_and_gather_in_input_order_is_silent(
    client: Client,
) -> None:
    futures = client.map(load, range(4), pure=False)
    done, _ = distributed.wait(futures)
    with pytest.raises(FindingError):
        pd.concat(client.gather(list(done))).reset_index(drop=True)  # a use of the row order
    combined = pd.concat(client.gather(futures), ignore_index=True)
    assert combined["part"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    lineage = asyncwarden.lineage(combined)
    assert lineage is not None
    assert [s.position for s in lineage.sources] == [0, 1, 2, 3]


@pytest.mark.usefixtures("strict_guard")
def test_gather_without_wait_is_silent_and_untracked(client: Client) -> None:
    frames = client.gather(client.map(load, range(3), pure=False))
    assert pd.concat(frames, ignore_index=True)["part"].tolist() == [0, 0, 1, 1, 2, 2]
    assert asyncwarden.lineage(frames[0]) is None


def _released_in(client: Client, order: list[int], with_results: bool) -> list[pd.DataFrame]:
    """as_completed over gated loads, the gates opened in ``order``, one per item taken.

    As many loads as the cluster has worker threads (two): each runs at once and waits.
    """
    gates = {part: f"asyncwarden-gate-{part}-{next(_runs)}" for part in order}
    futures = [client.submit(load, part, gates[part], pure=False) for part in range(len(order))]
    completed = distributed.as_completed(futures, with_results=with_results)
    frames = []
    for part in order:
        Event(gates[part]).set()  # only this load can finish before the next one is taken
        item = next(completed)
        frames.append(item[1] if with_results else item.result())
    return frames


_runs = itertools.count()


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("with_results", [False, True])
def test_as_completed_order_into_concat_is_aw101(client: Client, with_results: bool) -> None:
    frames = _released_in(client, [1, 0], with_results)
    assert [frame["part"].iat[0] for frame in frames] == [1, 0]
    with pytest.raises(FindingError) as raised:
        pd.concat(frames).reset_index(drop=True)  # a use of the row order
    finding = raised.value.finding
    assert "[1, 0] (completion order, as as_completed() yields)" in finding.message
    assert any(role.startswith("distributed.as_completed() #") for role, _ in finding.sites)


@pytest.mark.usefixtures("strict_guard")
@pytest.mark.parametrize("with_results", [False, True])
def test_as_completed_keeps_no_member_alive_the_program_dropped(
    client: Client, with_results: bool
) -> None:
    gates = [f"asyncwarden-gate-{part}-{next(_runs)}" for part in range(2)]
    futures = [client.submit(load, part, gates[part], pure=False) for part in range(2)]
    completed = distributed.as_completed(futures, with_results=with_results)
    Event(gates[1]).set()
    item = next(completed)
    first, frames = (item[0], [item[1]]) if with_results else (item, [item.result()])
    gone = weakref.ref(first)
    futures.remove(first)
    del item, first
    gc.collect()
    assert gone() is None  # while the as_completed object, still to be iterated, lives on
    Event(gates[0]).set()
    item = next(completed)
    frames.append(item[1] if with_results else item.result())
    with pytest.raises(FindingError) as raised:
        pd.concat(frames).reset_index(drop=True)  # a use of the row order
    assert "[1, 0] (completion order, as as_completed() yields)" in raised.value.finding.message


def _first_completed_loop(client: Client, order: list[int]) -> list[tuple[int, pd.DataFrame]]:
    """``while not_done: wait(FIRST_COMPLETED)``, one gated load released per call."""
    gates = {part: f"asyncwarden-gate-{part}-{next(_runs)}" for part in order}
    futures = [client.submit(load, part, gates[part], pure=False) for part in range(len(order))]
    part_of = {future.key: part for part, future in enumerate(futures)}
    not_done: object = futures
    out = []
    for part in order:
        Event(gates[part]).set()  # only this load can finish before wait() returns
        done, not_done = distributed.wait(not_done, return_when="FIRST_COMPLETED")
        out += [(part_of[f.key], f.result()) for f in done]
    return out


@pytest.mark.usefixtures("strict_guard")
def test_first_completed_loop_is_one_batch_and_its_order_into_concat_is_aw101(
    client: Client,
) -> None:
    arrived = _first_completed_loop(client, [1, 0])
    assert [part for part, _ in arrived] == [1, 0]
    with pytest.raises(FindingError) as raised:
        pd.concat([frame for _, frame in arrived]).reset_index(drop=True)
    finding = raised.value.finding
    assert "[1, 0] (the order in which wait()'s done sets iterated, across 2 calls)" in (
        finding.message
    )
    assert len(finding.batch_ids) == 1


@pytest.mark.usefixtures("strict_guard")
def test_first_completed_loop_read_back_in_input_order_is_silent(client: Client) -> None:
    by_part = dict(_first_completed_loop(client, [1, 0]))
    combined = pd.concat([by_part[0], by_part[1]]).reset_index(drop=True)
    assert combined["part"].tolist() == [0, 0, 1, 1]


@pytest.mark.usefixtures("strict_guard")
def test_as_completed_in_submission_order_is_silent(client: Client) -> None:
    frames = _released_in(client, [0, 1], with_results=False)
    assert pd.concat(frames, ignore_index=True)["part"].tolist() == [0, 0, 1, 1]


@pytest.mark.usefixtures("guard")
def test_failures_skipped_by_gather_are_aw201_with_their_position(client: Client) -> None:
    futures = [
        client.submit(load, 0, pure=False),
        client.submit(operator.truediv, 1, 0),
        client.submit(load, 2, pure=False),
    ]
    distributed.wait(futures)
    frames = client.gather(futures, errors="skip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        combined = pd.concat(frames, ignore_index=True)
    assert combined["part"].tolist() == [0, 0, 2, 2]
    aw201 = [w for w in caught if issubclass(w.category, IncompleteBatchWarning)]
    assert len(aw201) == 1
    assert "position 1: failed (ZeroDivisionError)" in str(aw201[0].message)
    record = asyncwarden.provenance(futures[1])
    assert record is not None
    assert (record.library, record.position, record.outcome) == ("distributed", 1, "failed")


def test_off_patches_nothing_and_dask_results_are_the_same(client: Client) -> None:
    assert type(distributed.wait).__name__ == "function"
    with asyncwarden.guarded("warn"):
        assert type(distributed.wait).__name__ == "FunctionWrapper"
        guarded = client.gather(client.map(load, range(3)))
    assert type(distributed.wait).__name__ == "function"
    plain = client.gather(client.map(load, range(3)))
    for left, right in zip(guarded, plain, strict=True):
        pd.testing.assert_frame_equal(left, right)


PROGRAM = """
import sys
import pandas as pd
from distributed import Client, wait

def load(part):
    return pd.DataFrame({"part": [part]})

with Client(sys.argv[1]) as client:
    futures = client.map(load, range(4), pure=False)
    done, _ = wait(futures)
    print("in order", pd.concat(client.gather(futures))["part"].tolist(), flush=True)
    pd.concat([f.result() for f in done]).reset_index(drop=True)  # a use of the row order
    print("done set concatenated", flush=True)
"""


def test_the_environment_variable_guards_a_dask_program(client: Client, tmp_path: object) -> None:
    from pathlib import Path

    program = Path(str(tmp_path)) / "dask_program.py"
    program.write_text(PROGRAM)
    address = client.scheduler.address  # the module's cluster: no second one to start
    off = run_python(str(program), address, timeout=120)
    strict = run_python(str(program), address, env={"ASYNCWARDEN": "strict"}, timeout=120)
    assert off.stdout.splitlines() == ["in order [0, 1, 2, 3]", "done set concatenated"]
    assert strict.stdout.splitlines() == ["in order [0, 1, 2, 3]"], strict.stderr[-2000:]
    assert "FindingError: AW101 unordered-concat" in strict.stderr
    assert "distributed.wait() #" in strict.stderr
    assert "internal error" not in strict.stderr


# -- docs/rules.md's dask examples ----------------------------------------------------------------

DASK_PRELUDE = """
import sys

import distributed
import pandas as pd
from distributed import Client

days = [1, 2, 3, 4]


def read_day(day):
    return pd.DataFrame({"day": [day] * 3, "revenue": [10.0 * day + s for s in range(3)]})


def broken(day):
    raise OSError(f"partition {day} is unreadable")


client = Client(sys.argv[1])
client_futures = [client.submit(read_day, 1), client.submit(broken, 2), client.submit(read_day, 3)]
distributed.wait(client_futures)
"""


def test_rules_dask_examples_wrong_is_reported_and_right_is_clean_in_strict_mode(
    client: Client, tmp_path: object
) -> None:
    """docs/rules.md's dask code, each a program on this module's cluster, ASYNCWARDEN=strict."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    from tests.test_futures_guard import rules_blocks

    (aw101_wrong,) = rules_blocks("Wrong, with dask")["AW101"]
    (aw101_right,) = rules_blocks("Right, with dask")["AW101"]
    aw201_wrong = rules_blocks("Wrong, with a pool or dask")["AW201"][1]
    aw201_right = "\n".join(rules_blocks("Right, with a pool or dask")["AW201"]).splitlines()[1]
    assert "client." in aw201_wrong and "client." in aw201_right
    examples = [
        ("AW101", True, aw101_wrong),
        ("AW101", False, aw101_right),
        ("AW201", True, aw201_wrong),
        ("AW201", False, aw201_right),
    ]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    started = []
    for number, (code, wrong, body) in enumerate(examples):
        script = Path(str(tmp_path)) / f"dask_example_{number}.py"
        script.write_text(f"{DASK_PRELUDE}\n{body}\nclient.close()\n")
        process = subprocess.Popen(
            [sys.executable, str(script), client.scheduler.address],
            env={**environment, "ASYNCWARDEN": "strict"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append((code, wrong, process))
    for code, wrong, process in started:
        _, stderr = process.communicate(timeout=120)
        raised = re.findall(r"asyncwarden\.exceptions\.FindingError: (AW\d{3})", stderr)
        if wrong:
            assert raised == [code], stderr[-3000:]
        else:
            assert not re.search(r"AW\d{3}", stderr), stderr[-3000:]
            if code == "AW201":  # gather raises the partition's own error
                assert "OSError: partition 2 is unreadable" in stderr, stderr[-3000:]
            else:
                assert process.returncode == 0, stderr[-3000:]


@pytest.mark.parametrize("method", ["result", "gather"])
def test_a_failed_partitions_traceback_is_as_short_as_without_the_guard(
    client: Client, method: str
) -> None:
    """dask shortens tracebacks on purpose (its own tests count the frames): the guard's
    wrapper frame must not add one (3.11+; 3.10 keeps a re-raising frame)."""
    import sys
    import traceback

    def frames() -> list[str]:
        future = client.submit(operator.truediv, 1, 0, pure=False)
        with pytest.raises(ZeroDivisionError) as raised:
            future.result() if method == "result" else client.gather(future)
        return [s.filename for s in traceback.extract_tb(raised.value.__traceback__)]

    plain = frames()
    with asyncwarden.guarded("warn"):
        guarded = frames()
    if sys.version_info >= (3, 11):
        assert guarded == plain
    else:
        assert [name for name in guarded if "/asyncwarden/" not in name] == plain
