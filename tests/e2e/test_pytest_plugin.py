"""The pytest plugin, run as users run it: pytest inside pytest, through ``pytester``.

Most runs are in-process (fast); the ones that depend on the start-up hook (``ASYNCWARDEN`` set
before the interpreter starts) or on worker processes run pytest as a subprocess.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import re
from pathlib import Path

import anyio._backends._asyncio
import hypothesis
import pandas
import pytest
import structlog
import wrapt

import asyncwarden
from asyncwarden._compat import PY_3_11_PLUS

pytest_plugins = ["pytester"]

# In-process runs drop the modules they imported when they end. These are imported here, once,
# so each run finds them loaded: numpy cannot be imported twice in one process; asyncwarden's
# modules hold the guard's state, and a second copy of one (say _activation) would disagree with
# the first about whether the guard is on; the others cost more to import than the runs
# themselves (hypothesis' plugin imports it at every summary).
KEPT_LOADED = (
    anyio._backends._asyncio,
    hypothesis,
    pandas,
    structlog,
    *(
        importlib.import_module(module.name)
        for module in pkgutil.walk_packages(asyncwarden.__path__, "asyncwarden.")
        # these run something when imported
        if module.name not in {"asyncwarden.__main__", "asyncwarden._startup"}
    ),
)

# The in-process runs inherit this process's warning filters, and our own configuration turns
# AsyncWardenWarning into an error; the suites under test must see warn mode as users do.
pytestmark = pytest.mark.filterwarnings("default::asyncwarden.AsyncWardenWarning")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strict_in_pytest"

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
"""

# Shared by the suites below: one loader concatenates wait()'s done set, one uses gather.
LOADERS = """
import asyncio

import pandas as pd


async def load_day(day):
    await asyncio.sleep(0)
    return pd.DataFrame({"day": [day], "revenue": [100 + day]})


async def from_wait():
    tasks = [asyncio.create_task(load_day(day)) for day in range(4)]
    done, _ = await asyncio.wait(tasks)
    sales = pd.concat([task.result() for task in done], ignore_index=True)
    sales["line"] = range(1, len(sales) + 1)  # numbers the rows as they came
    return sales


async def from_gather():
    return pd.concat(await asyncio.gather(*(load_day(d) for d in range(4))), ignore_index=True)


async def incomplete():
    async def fail():
        raise OSError("partition 1 unreachable")

    results = await asyncio.gather(load_day(0), fail(), return_exceptions=True)
    return pd.concat([r for r in results if not isinstance(r, BaseException)])
"""

# The lines of from_wait in loaders.py, as reports must name them.
CONCAT_LINE = LOADERS.strip().splitlines().index("    done, _ = await asyncio.wait(tasks)") + 2
WAIT_LINE = CONCAT_LINE - 1

NOT_PATCHED = """
def test_nothing_is_patched():
    import asyncio

    assert not hasattr(asyncio.gather, "__wrapped__")
    assert not hasattr(asyncio.wait, "__wrapped__")
"""


@pytest.fixture(scope="module", autouse=True)
def _import_hook_finder_outside_the_runs() -> None:
    """Put wrapt's import-hook finder on ``sys.meta_path`` before any in-process run.

    wrapt adds it once per process, the first time a post-import hook is registered (the guard
    being switched on), and pytester puts ``sys.meta_path`` back after each test: added inside a
    run, it would be gone for good, and later hooks (uvloop's) would never fire in this process.
    """
    wrapt.register_post_import_hook(lambda module: None, "wrapt")


@pytest.fixture(autouse=True)
def _no_guard_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASYNCWARDEN", raising=False)


@pytest.fixture(autouse=True)
def _no_garbage_from_earlier_tests() -> None:
    """Collect what earlier tests in this worker left behind before a run switches the guard on.

    A pending task another test abandoned is reported when the garbage collector destroys it
    (AW301), and in-process runs share the worker: collected during a guarded run, it was that
    run's finding, one more than the run's own, whenever the collection happened to fall there.
    """
    gc.collect()


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the loaders and the sync pair of tests (the issue's done-when suite)."""
    pytester.makeini(INI)
    pytester.makepyfile(
        loaders=LOADERS,
        test_pair="""
        import asyncio

        import loaders


        def test_wait_done_set():
            asyncio.run(loaders.from_wait())


        def test_gather():
            asyncio.run(loaders.from_gather())
        """,
    )
    return pytester


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """nodeid -> PASSED/FAILED/ERROR, from ``-rA`` short summary lines."""
    found: dict[str, str] = {}
    for line in result.outlines:
        match = re.match(r"(PASSED|FAILED|ERROR|XFAIL|SKIPPED) (\S+)", line)
        if match:
            word, nodeid = match.groups()
            # A test can pass and then error at teardown: the error is what counts.
            if found.get(nodeid) != "ERROR":
                found[nodeid] = word
    return found


# -- the done-when suite ----------------------------------------------------------------


def test_strict_fails_the_wait_test_naming_aw101_and_its_lines_and_passes_gather(
    suite: pytest.Pytester,
) -> None:
    result = suite.runpytest_inprocess("--asyncwarden=strict", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    assert _outcomes(result) == {
        "test_pair.py::test_wait_done_set": "FAILED",
        "test_pair.py::test_gather": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [
            "*FindingError: AW101 unordered-concat: 4 frames from asyncio.wait() reached "
            "pandas.concat() out of submission order",
            f"*pandas.concat()*loaders.py:{CONCAT_LINE} in from_wait",
            f"*asyncio.wait()*loaders.py:{WAIT_LINE} in from_wait",
            "*fix*use asyncio.gather()*",
            # The traceback ends at the user's line, not inside the patch layer.
            f"loaders.py:{CONCAT_LINE + 1}: FindingError",
        ]
    )
    assert "_delivery.py" not in result.stdout.str()


def test_without_the_option_both_tests_pass_and_nothing_is_patched(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_untouched=NOT_PATCHED)
    result = suite.runpytest_inprocess()
    result.assert_outcomes(passed=3)
    assert "asyncwarden:" not in result.stdout.str()  # no header line, no summary


def test_marker_allowing_aw101_at_function_class_and_module_level_lets_both_pass(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_function="""
        import asyncio

        import pytest

        import loaders


        @pytest.mark.asyncwarden(allow=["AW101"])
        def test_allowed_here():
            asyncio.run(loaders.from_wait())
        """,
        test_class="""
        import asyncio

        import pytest

        import loaders


        @pytest.mark.asyncwarden(allow="AW101")
        class TestAllowed:
            def test_allowed_for_the_class(self):
                asyncio.run(loaders.from_wait())
        """,
        test_module="""
        import asyncio

        import pytest

        import loaders

        pytestmark = pytest.mark.asyncwarden(allow=["AW101", "AW201"])


        def test_allowed_for_the_module():
            asyncio.run(loaders.from_wait())
            asyncio.run(loaders.incomplete())
        """,
    )
    result = suite.runpytest_inprocess("--asyncwarden=strict", "-rA")
    assert _outcomes(result) == {
        "test_pair.py::test_wait_done_set": "FAILED",  # no marker: still caught
        "test_pair.py::test_gather": "PASSED",
        "test_function.py::test_allowed_here": "PASSED",
        "test_class.py::TestAllowed::test_allowed_for_the_class": "PASSED",
        "test_module.py::test_allowed_for_the_module": "PASSED",
    }


def test_the_example_suite_fails_only_its_wrong_test_in_strict_mode(
    pytester: pytest.Pytester,
) -> None:
    for path in EXAMPLE.iterdir():
        if path.is_file():
            (pytester.path / path.name).write_text(path.read_text())
    relaxed = pytester.runpytest_inprocess("-p", "no:asyncio")  # the example needs no plugin
    relaxed.assert_outcomes(passed=2)
    strict = pytester.runpytest_inprocess("-p", "no:asyncio", "--asyncwarden=strict", "-rA")
    assert _outcomes(strict) == {
        "test_pipeline.py::test_revenue_from_wait": "FAILED",
        "test_pipeline.py::test_revenue_from_gather": "PASSED",
    }
    lines = (pytester.path / "pipeline.py").read_text().splitlines()
    wait_line = lines.index("    done, _ = await asyncio.wait(tasks)") + 1
    concat_line = next(i for i, line in enumerate(lines, 1) if "return pd.concat(" in line)
    strict.stdout.fnmatch_lines(
        [
            "*FindingError: AW101 unordered-concat*",
            f"*pandas.concat()*pipeline.py:{concat_line} in sales_from_wait",
            f"*asyncio.wait()*pipeline.py:{wait_line} in sales_from_wait",
        ]
    )


# -- pytest-asyncio, anyio, xdist ---------------------------------------------------------------

ASYNC_PAIR = """
import pytest

import loaders

{decorator}
async def test_wait_done_set():
    await loaders.from_wait()

{decorator}
async def test_gather():
    await loaders.from_gather()
"""


@pytest.mark.parametrize(
    ("asyncio_mode", "decorator"),
    [
        ("strict", "@pytest.mark.asyncio"),
        ("strict", '@pytest.mark.asyncio(loop_scope="module")'),
        ("auto", ""),
        ("auto", '@pytest.mark.asyncio(loop_scope="module")'),
    ],
    ids=["strict-function-loop", "strict-module-loop", "auto-function-loop", "auto-module-loop"],
)
def test_pytest_asyncio_tests_fail_on_the_done_set_and_pass_with_gather(
    pytester: pytest.Pytester, asyncio_mode: str, decorator: str
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(loaders=LOADERS, test_async=ASYNC_PAIR.format(decorator=decorator))
    mode = ("-o", f"asyncio_mode={asyncio_mode}")
    strict = pytester.runpytest_inprocess(*mode, "--asyncwarden=strict", "-rA")
    assert _outcomes(strict) == {
        "test_async.py::test_wait_done_set": "FAILED",
        "test_async.py::test_gather": "PASSED",
    }
    strict.stdout.fnmatch_lines([f"*pandas.concat()*loaders.py:{CONCAT_LINE} in from_wait"])
    pytester.runpytest_inprocess(*mode).assert_outcomes(passed=2)
    pytester.makepyfile(
        conftest="""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.asyncwarden(allow=["AW101"]))
        """
    )
    allowed = pytester.runpytest_inprocess(*mode, "--asyncwarden=strict")
    allowed.assert_outcomes(passed=2)


def test_anyio_tests_on_the_asyncio_backend_fail_on_the_done_set_and_pass_with_gather(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        loaders=LOADERS,
        test_anyio=ASYNC_PAIR.format(decorator="@pytest.mark.anyio")
        + """

@pytest.fixture
def anyio_backend():
    return "asyncio"
""",
    )
    result = pytester.runpytest_inprocess("--asyncwarden=strict", "-rA")
    assert _outcomes(result) == {
        "test_anyio.py::test_wait_done_set": "FAILED",
        "test_anyio.py::test_gather": "PASSED",
    }
    result.stdout.fnmatch_lines([f"*pandas.concat()*loaders.py:{CONCAT_LINE} in from_wait"])
    pytester.runpytest_inprocess().assert_outcomes(passed=2)


def test_anyio_marker_allowances_stay_with_their_test_when_the_runner_outlives_it(
    pytester: pytest.Pytester,
) -> None:
    # A module-scoped async fixture keeps anyio's runner task, and its context, across tests.
    pytester.makeini(INI)
    pytester.makepyfile(
        loaders=LOADERS,
        test_shared_runner="""
        import pytest

        import loaders

        pytestmark = pytest.mark.anyio


        @pytest.fixture(scope="module")
        def anyio_backend():
            return "asyncio"


        @pytest.fixture(scope="module")
        async def shared():
            yield


        @pytest.mark.asyncwarden(allow=["AW101"])
        async def test_allowed_first(shared):
            await loaders.from_wait()


        async def test_not_allowed_after(shared):
            await loaders.from_wait()


        @pytest.mark.asyncwarden(allow=["AW101"])
        async def test_allowed_again(shared):
            await loaders.from_wait()
        """,
    )
    result = pytester.runpytest_inprocess("--asyncwarden=strict", "-rA", "-p", "no:randomly")
    assert _outcomes(result) == {
        "test_shared_runner.py::test_allowed_first": "PASSED",
        "test_shared_runner.py::test_not_allowed_after": "FAILED",
        "test_shared_runner.py::test_allowed_again": "PASSED",
    }


def test_xdist_workers_fail_the_right_test_and_the_summary_gathers_their_findings(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_more="""
        import asyncio

        import pytest

        import loaders

        pytestmark = pytest.mark.asyncwarden(mode="warn")


        def test_incomplete_batch_in_warn_mode():
            asyncio.run(loaders.incomplete())


        def test_gather_again():
            asyncio.run(loaders.from_gather())
        """
    )
    result = suite.runpytest_inprocess("-n", "2", "--asyncwarden=strict", "-rA")
    assert _outcomes(result) == {
        "test_pair.py::test_wait_done_set": "FAILED",
        "test_pair.py::test_gather": "PASSED",
        "test_more.py::test_incomplete_batch_in_warn_mode": "PASSED",
        "test_more.py::test_gather_again": "PASSED",
    }
    # The workers ran the tests; the controller lists what they found.
    result.stdout.fnmatch_lines(
        [
            "*= asyncwarden: 2 findings in 2 tests =*",
            "AW101 unordered-concat",
            "  test_pair.py::test_wait_done_set",
            f"    loaders.py:{CONCAT_LINE}  4 frames from asyncio.wait()*",
            "AW201 incomplete-batch",
            "  test_more.py::test_incomplete_batch_in_warn_mode",
            "    loaders.py:*  pandas.concat() got 1 of 2 results*",
        ]
    )


# -- findings that never reach the test as an exception -----------------------------------------

SWALLOWED = """
import asyncio

import pytest

import loaders


async def _swallowed():
    try:
        await loaders.from_wait()
    except Exception:
        pass  # the code under test hides the error


def test_swallows_the_error():
    asyncio.run(_swallowed())


def test_hazard_in_a_callback():
    async def main():
        loop = asyncio.get_running_loop()
        task = loop.create_task(loaders.from_wait())
        await asyncio.wait([task])
        task.exception()  # read, so asyncio does not log it later; the test never raises it

    asyncio.run(main())


@pytest.fixture
def tears_down_a_hazard():
    yield
    asyncio.run(_swallowed())


def test_with_a_hazard_at_fixture_teardown(tears_down_a_hazard):
    pass


def test_after_the_teardown_is_unaffected():
    asyncio.run(loaders.from_gather())
"""


def test_findings_caught_by_the_code_or_raised_in_callbacks_fail_their_own_phase(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_swallowed=SWALLOWED)
    result = suite.runpytest_inprocess("--asyncwarden=strict", "-rA", "-p", "no:randomly")
    outcomes = _outcomes(result)
    assert {k: v for k, v in outcomes.items() if k.startswith("test_swallowed")} == {
        "test_swallowed.py::test_swallows_the_error": "FAILED",
        "test_swallowed.py::test_hazard_in_a_callback": "FAILED",
        "test_swallowed.py::test_with_a_hazard_at_fixture_teardown": "ERROR",
        "test_swallowed.py::test_after_the_teardown_is_unaffected": "PASSED",
    }
    text = result.stdout.str()
    assert "ERROR at teardown of test_with_a_hazard_at_fixture_teardown" in text
    assert "reported while its fixtures were torn down, never raised to the test" in text
    result.stdout.fnmatch_lines(
        [
            "*asyncwarden (strict): 1 finding reported while it ran, never raised to the test:",
            "caught by the code under test, raised in an asyncio callback, or detected when an "
            "event loop shut down.",
            "AW101 unordered-concat: 4 frames from asyncio.wait()*",
            f"*pandas.concat()*loaders.py:{CONCAT_LINE} in from_wait",
        ]
    )
    relaxed = suite.runpytest_inprocess()
    relaxed.assert_outcomes(passed=6)


LOOP_TEARDOWN = """
import asyncio

import pytest

import loaders


def test_in_another_loop():
    asyncio.run(loaders.from_gather())


async def _straggler():
    try:
        await asyncio.sleep(3600)
    finally:
        # Runs when the loop shuts down and cancels what is still pending.
        await loaders.from_wait()


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_leaves_a_straggler():
    asyncio.get_running_loop().create_task(_straggler())


@pytest.mark.asyncio(loop_scope="{scope}")
async def test_last_in_module():
    await loaders.from_gather()
"""


@pytest.mark.parametrize(
    ("scope", "blamed"),
    [("function", "test_leaves_a_straggler"), ("module", "test_last_in_module")],
)
def test_a_finding_at_pytest_asyncio_loop_teardown_errors_the_test_that_closes_the_loop(
    pytester: pytest.Pytester, scope: str, blamed: str
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(loaders=LOADERS, test_loop=LOOP_TEARDOWN.format(scope=scope))
    result = pytester.runpytest_inprocess("--asyncwarden=strict", "-rA", "-p", "no:randomly")
    expected = {
        "test_loop.py::test_leaves_a_straggler": "PASSED",
        "test_loop.py::test_last_in_module": "PASSED",
        "test_loop.py::test_in_another_loop": "PASSED",
    }
    expected[f"test_loop.py::{blamed}"] = "ERROR"
    assert _outcomes(result) == expected
    # The straggler's hazard (AW101) is caught by asyncio's shutdown, never raised to the test.
    result.stdout.fnmatch_lines([f"*ERROR at teardown of {blamed}*"])
    teardown_error = result.stdout.str().split(f"ERROR at teardown of {blamed}")[1]
    assert "AW101 unordered-concat: 4 frames from asyncio.wait()" in teardown_error
    if PY_3_11_PLUS:
        # The lifecycle guard also finds the straggler pending at shutdown, and raises it from
        # the runner's close (on 3.10 pytest-asyncio shuts down through a backported runner).
        assert "FindingError: AW301 pending-at-shutdown: 1 task still pending" in teardown_error


# -- warn mode ------------------------------------------------------------------------------------


def test_warn_passes_and_lists_findings_by_rule_and_test_each_test_its_own(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_warn="""
        import asyncio

        import loaders

        PRELOADED = asyncio.run(loaders.incomplete())  # at collection, outside any test


        def test_incomplete_once():
            asyncio.run(loaders.incomplete())


        def test_incomplete_again():
            asyncio.run(loaders.incomplete())
        """
    )
    # Only this module: in warn mode wait()'s done set keeps whatever order it has.
    result = suite.runpytest_inprocess("--asyncwarden=warn", "-p", "no:randomly", "test_warn.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*= asyncwarden: 3 findings in 2 tests =*",
            "AW201 incomplete-batch",
            "  test_warn.py::test_incomplete_once",
            "    loaders.py:*  pandas.concat() got 1 of 2 results*",
            "  test_warn.py::test_incomplete_again",
            "    loaders.py:*",
            "  (outside any test)",
            "    loaders.py:*",
        ]
    )
    # Each test warns about its own finding, although both come from the same line.
    warnings_section = result.stdout.str().split("warnings summary")[1]
    assert "test_warn.py::test_incomplete_once" in warnings_section
    assert "test_warn.py::test_incomplete_again" in warnings_section


# -- precedence: marker over command line over environment over ini -----------------------------


@pytest.mark.parametrize(
    ("ini", "environ", "option", "expected"),
    [
        ("strict", None, None, "strict (from ini option asyncwarden)"),
        ("strict", "off", None, "off (from ASYNCWARDEN)"),
        ("off", "strict", None, "strict (from ASYNCWARDEN)"),
        ("strict", "warn", "off", "off (from --asyncwarden)"),
        (None, "off", "strict", "strict (from --asyncwarden)"),
        ("warn", "warn", "1", "warn (from --asyncwarden)"),
    ],
)
def test_command_line_beats_environment_beats_ini(
    suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: str | None,
    environ: str | None,
    option: str | None,
    expected: str,
) -> None:
    suite.makeini(INI + (f"asyncwarden = {ini}\n" if ini else ""))
    if environ is not None:
        monkeypatch.setenv("ASYNCWARDEN", environ)
    args = [f"--asyncwarden={option}"] if option else []
    result = suite.runpytest_inprocess(*args)
    result.stdout.fnmatch_lines([f"asyncwarden: {expected}"])
    failed = int(expected.startswith("strict"))
    result.assert_outcomes(passed=2 - failed, failed=failed)


def test_marker_mode_beats_the_command_line_both_ways(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_marked="""
        import asyncio

        import pytest

        import loaders


        @pytest.mark.asyncwarden(mode="off")
        def test_off_here():
            assert not hasattr(asyncio.gather, "__wrapped__")
            asyncio.run(loaders.from_wait())


        @pytest.mark.asyncwarden(mode="strict")
        def test_strict_here():
            asyncio.run(loaders.from_wait())


        @pytest.mark.asyncwarden(mode="warn")
        class TestWarn:
            @pytest.mark.asyncwarden(mode="strict")
            def test_closest_marker_wins(self):
                asyncio.run(loaders.incomplete())

            def test_class_marker_applies(self):
                asyncio.run(loaders.incomplete())
        """
    )
    strict = suite.runpytest_inprocess("--asyncwarden=strict", "-rA")
    assert _outcomes(strict) == {
        "test_pair.py::test_wait_done_set": "FAILED",
        "test_pair.py::test_gather": "PASSED",
        "test_marked.py::test_off_here": "PASSED",
        "test_marked.py::test_strict_here": "FAILED",
        "test_marked.py::TestWarn::test_closest_marker_wins": "FAILED",
        "test_marked.py::TestWarn::test_class_marker_applies": "PASSED",
    }
    # Nothing asked for on the command line: only the markers with mode= switch the guard on.
    relaxed = suite.runpytest_inprocess("-rA")
    assert _outcomes(relaxed) == {
        "test_pair.py::test_wait_done_set": "PASSED",
        "test_pair.py::test_gather": "PASSED",
        "test_marked.py::test_off_here": "PASSED",
        "test_marked.py::test_strict_here": "FAILED",
        "test_marked.py::TestWarn::test_closest_marker_wins": "FAILED",
        "test_marked.py::TestWarn::test_class_marker_applies": "PASSED",
    }


def test_a_run_that_did_not_ask_keeps_no_findings_even_when_the_code_switches_the_guard_on(
    suite: pytest.Pytester,
) -> None:
    from asyncwarden._findings import _delivery

    sinks_before = list(_delivery.sinks)
    suite.makepyfile(
        test_own_guard="""
        import asyncio

        import pytest

        import asyncwarden
        import loaders


        @pytest.mark.asyncwarden(mode="warn")
        def test_asked_by_its_marker():
            asyncio.run(loaders.incomplete())


        def test_switches_the_guard_on_itself():
            with asyncwarden.guarded("warn"):
                asyncio.run(loaders.incomplete())
        """
    )
    result = suite.runpytest_inprocess("-p", "no:randomly", "test_own_guard.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*= asyncwarden: 1 finding in 1 test =*",
            "AW201 incomplete-batch",
            "  test_own_guard.py::test_asked_by_its_marker",
        ]
    )
    assert "test_switches_the_guard_on_itself" not in result.stdout.str().split("asyncwarden: 1")[1]
    assert _delivery.sinks == sinks_before


def test_environment_strict_with_command_line_off_uninstalls_the_start_up_guard(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A subprocess: the .pth start-up hook installs the guard before pytest starts.
    suite.makepyfile(test_untouched=NOT_PATCHED)
    monkeypatch.setenv("ASYNCWARDEN", "strict")
    result = suite.runpytest_subprocess("--asyncwarden=off")
    result.assert_outcomes(passed=3)
    strict = suite.runpytest_subprocess("-rA")
    assert _outcomes(strict) == {
        "test_pair.py::test_wait_done_set": "FAILED",
        "test_pair.py::test_gather": "PASSED",
        "test_untouched.py::test_nothing_is_patched": "FAILED",
    }
    strict.stdout.fnmatch_lines(["asyncwarden: strict (from ASYNCWARDEN)"])


def test_installed_but_not_asked_for_patches_nothing_in_a_fresh_process(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_untouched=NOT_PATCHED
        + """

def test_the_guard_is_off():
    import asyncwarden

    assert not asyncwarden.is_installed()
"""
    )
    result = suite.runpytest_subprocess("test_untouched.py")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["plugins:*asyncwarden-*"])  # loaded, and idle


# -- -p no:asyncwarden and bad settings ---------------------------------------------------------


def test_disabled_with_p_no_asyncwarden_it_has_no_option_no_ini_effect_and_no_patches(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_untouched=NOT_PATCHED)
    rejected = suite.runpytest_inprocess("-p", "no:asyncwarden", "--asyncwarden=strict")
    assert rejected.ret == pytest.ExitCode.USAGE_ERROR
    rejected.stderr.fnmatch_lines(["*unrecognized arguments: --asyncwarden=strict*"])
    suite.makeini(INI + "asyncwarden = strict\n")
    ignored = suite.runpytest_inprocess(
        "-p", "no:asyncwarden", "-W", "ignore::pytest.PytestConfigWarning"
    )
    ignored.assert_outcomes(passed=3)
    assert "asyncwarden:" not in ignored.stdout.str()
    unknown_fixture = suite.makepyfile(
        test_fixture="""
        def test_findings(asyncwarden_findings):
            pass
        """
    )
    missing = suite.runpytest_inprocess("-p", "no:asyncwarden", str(unknown_fixture))
    missing.stdout.fnmatch_lines(["*fixture 'asyncwarden_findings' not found*"])


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("option", "*--asyncwarden='loud' is not valid; accepted: off, warn, strict*"),
        ("environment", "*ASYNCWARDEN='loud' is not valid; accepted: off, warn, strict*"),
        ("ini", "*ini option asyncwarden='loud' is not valid; accepted: off, warn, strict*"),
    ],
)
def test_a_bad_mode_stops_the_run_saying_where_it_came_from_and_what_is_accepted(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, message: str
) -> None:
    args = []
    if how == "option":
        args = ["--asyncwarden=loud"]
    elif how == "environment":
        monkeypatch.setenv("ASYNCWARDEN", "loud")
    else:
        suite.makeini(INI + "asyncwarden = loud\n")
    result = suite.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_a_bad_marker_errors_its_test_at_setup_and_spares_the_others(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.asyncwarden(allow=["AW999"])
        def test_typo():
            pass

        @pytest.mark.asyncwarden(mode="loud")
        def test_bad_mode():
            pass
        """
    )
    result = suite.runpytest_inprocess("--asyncwarden=strict", "-rA")
    outcomes = _outcomes(result)
    assert outcomes["test_bad.py::test_typo"] == "ERROR"
    assert outcomes["test_bad.py::test_bad_mode"] == "ERROR"
    assert outcomes["test_pair.py::test_gather"] == "PASSED"
    text = result.stdout.str()
    assert "asyncwarden: unknown rule code(s) ['AW999'] in allow=; known: AW101" in text
    assert "asyncwarden(mode=...)='loud' is not valid; accepted: off, warn, strict" in text
    assert "traceback entries are hidden" not in text


# -- the asyncwarden_findings fixture -----------------------------------------------------------


def test_the_findings_fixture_lets_a_test_assert_on_its_own_findings(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        test_fixture="""
        import asyncio

        import pytest

        import asyncwarden
        import loaders


        def test_sees_its_incomplete_batch(asyncwarden_findings):
            asyncio.run(loaders.incomplete())
            assert [f.code for f in asyncwarden_findings] == ["AW201"]
            assert asyncwarden_findings[0].site.function == "incomplete"


        def test_clean_code_has_none(asyncwarden_findings):
            asyncio.run(loaders.from_gather())
            assert asyncwarden_findings == []


        def test_strict_still_raises_at_the_call(asyncwarden_findings):
            try:
                asyncio.run(loaders.from_wait())
            except asyncwarden.FindingError as error:
                assert error.finding is asyncwarden_findings[-1]
            assert [f.code for f in asyncwarden_findings] == ["AW101"]
        """
    )
    # Nothing asked for: requesting the fixture switches the guard on (warn) for that test only.
    relaxed = suite.runpytest_inprocess("-rA", "-k", "not strict_still_raises")
    assert _outcomes(relaxed) == {
        "test_pair.py::test_wait_done_set": "PASSED",
        "test_pair.py::test_gather": "PASSED",
        "test_fixture.py::test_sees_its_incomplete_batch": "PASSED",
        "test_fixture.py::test_clean_code_has_none": "PASSED",
    }
    assert "asyncwarden: " not in relaxed.stdout.str()  # in charge: not in the summary
    assert "IncompleteBatchWarning" not in relaxed.stdout.str()  # nor repeated as a warning
    strict = suite.runpytest_inprocess("--asyncwarden=strict", "-rA")
    assert _outcomes(strict) == {
        "test_pair.py::test_wait_done_set": "FAILED",
        "test_pair.py::test_gather": "PASSED",
        "test_fixture.py::test_sees_its_incomplete_batch": "FAILED",  # raised at the call
        "test_fixture.py::test_clean_code_has_none": "PASSED",
        "test_fixture.py::test_strict_still_raises_at_the_call": "PASSED",
    }


# -- determinism ----------------------------------------------------------------------------------


def test_strict_results_are_the_same_on_every_run_sync_and_pytest_asyncio(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        loaders=LOADERS,
        test_repeated="""
        import asyncio

        import pytest

        import loaders

        RUNS = range(20)


        @pytest.mark.parametrize("run", RUNS)
        def test_wait_done_set(run):
            asyncio.run(loaders.from_wait())


        @pytest.mark.parametrize("run", RUNS)
        def test_gather(run):
            asyncio.run(loaders.from_gather())


        @pytest.mark.asyncio
        @pytest.mark.parametrize("run", RUNS)
        async def test_async_wait_done_set(run):
            await loaders.from_wait()


        @pytest.mark.asyncio
        @pytest.mark.parametrize("run", RUNS)
        async def test_async_gather(run):
            await loaders.from_gather()
        """,
    )
    seen = []
    for _ in range(3):
        result = pytester.runpytest_inprocess("--asyncwarden=strict", "-rA", "-q", "--tb=no")
        outcomes = _outcomes(result)
        assert len(outcomes) == 80
        for nodeid, outcome in outcomes.items():
            assert outcome == ("FAILED" if "wait_done_set" in nodeid else "PASSED"), nodeid
        seen.append(outcomes)
    assert seen[0] == seen[1] == seen[2]
