"""Run CPython test modules in this interpreter and write every test's outcome as JSON.

    python _run_stdlib_tests.py --list OUT.json MODULE [MODULE ...]   # test classes and sizes
    python _run_stdlib_tests.py OUT.json NAME [NAME ...]              # run modules or classes

The caller deals the classes into a few processes run side by side: CPython's asyncio tests mostly
sleep, and a process that imports only the modules it runs keeps the heap small for the tests that
call gc.collect() in a loop.

Standard library only: it runs under whichever Python is being checked, guard on or off (the
guard is switched on by the ``ASYNCWARDEN`` environment variable and asyncwarden's ``.pth``
start-up hook, exactly as a user switches it on). Besides each test's outcome it records what
regrtest's ``--fail-env-changed`` would notice and a plain outcome list cannot: exceptions raised
where nobody can catch them (``sys.unraisablehook``, ``threading.excepthook``), asyncio's own
error log ("Task exception was never retrieved", "Task was destroyed but it is pending"), stray
warnings, and whether asyncio's entry points were wrapped while the tests ran.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import unittest
import warnings

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+|\bid=\d+|at \d+>")
_GUARDED_NAMES = ("gather", "wait", "as_completed", "wait_for")


def _normalize(text: str, limit: int = 240) -> str:
    """The same event in two runs prints different addresses: drop them."""
    return _ADDRESS.sub("ADDR", text)[:limit]


def _guard_state() -> dict[str, object]:
    import concurrent.futures
    from asyncio import tasks

    state: dict[str, object] = {
        name: type(getattr(asyncio, name)).__name__ == "FunctionWrapper"
        and getattr(tasks, name) is getattr(asyncio, name)
        for name in _GUARDED_NAMES
    }
    for name in ("wait", "as_completed"):
        wrapper = getattr(concurrent.futures, name)
        state[f"concurrent.futures.{name}"] = type(wrapper).__name__ == "FunctionWrapper"
    aw = sys.modules.get("asyncwarden")
    state["asyncwarden_imported"] = aw is not None
    state["installed"] = bool(aw is not None and aw.is_installed())
    return state


def _batches_seen() -> int:
    """How many batches the guard recorded: proof it did its work, not only that it was loaded."""
    provenance = sys.modules.get("asyncwarden._tracking._provenance")
    if provenance is None:
        return 0
    return next(provenance._batch_ids) - 1


class _Collector(unittest.TestResult):
    """test id -> outcome, with the last line of each failure for the report."""

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, str] = {}
        self.details: dict[str, str] = {}
        self.current = "<no test>"
        self.started = 0.0
        self.class_seconds: dict[str, float] = {}
        self.slow_tests: dict[str, float] = {}

    def startTest(self, test: unittest.TestCase) -> None:
        self.current = test.id()
        self.started = time.perf_counter()
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        owner = f"{type(test).__module__}.{type(test).__qualname__}"
        took = time.perf_counter() - self.started
        self.class_seconds[owner] = self.class_seconds.get(owner, 0.0) + took
        if took > 1.0:
            self.slow_tests[test.id()] = round(took, 2)

    def _set(self, test: object, outcome: str, err: object = None) -> None:
        test_id = test.id() if hasattr(test, "id") else str(test)
        # A test whose subtests failed is reported once as failed, never as passed afterwards.
        if self.outcomes.get(test_id) in {"failed", "error"} and outcome == "passed":
            return
        self.outcomes[test_id] = outcome
        if err is not None and isinstance(err, tuple):
            lines = traceback.format_exception_only(err[0], err[1])
            self.details[test_id] = _normalize(lines[-1].strip() if lines else "", 400)

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._set(test, "passed")

    def addFailure(self, test: unittest.TestCase, err: object) -> None:  # type: ignore[override]
        super().addFailure(test, err)  # type: ignore[arg-type]
        self._set(test, "failed", err)

    def addError(self, test: unittest.TestCase, err: object) -> None:  # type: ignore[override]
        super().addError(test, err)  # type: ignore[arg-type]
        self._set(test, "error", err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._set(test, "skipped")

    def addExpectedFailure(self, test: unittest.TestCase, err: object) -> None:  # type: ignore[override]
        super().addExpectedFailure(test, err)  # type: ignore[arg-type]
        self._set(test, "xfailed")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, "xpassed")

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: object) -> None:  # type: ignore[override]
        super().addSubTest(test, subtest, err)  # type: ignore[arg-type]
        if err is not None:
            failed = issubclass(err[0], test.failureException)  # type: ignore[index]
            self._set(subtest, "failed" if failed else "error", err)
            self._set(test, "failed")


def _flatten(suite: unittest.TestSuite) -> list[unittest.TestCase]:
    tests: list[unittest.TestCase] = []
    for item in suite:
        tests.extend(_flatten(item) if isinstance(item, unittest.TestSuite) else [item])
    return tests


def list_classes(out: str, modules: list[str]) -> int:
    """Write {"classes": {"module.Class": number of tests}, "missing": [modules not found]}."""
    loader = unittest.TestLoader()
    classes: dict[str, int] = {}
    missing: list[str] = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # the parent package is missing too (Debian's python3)
            found = None
        if found is None:
            missing.append(name)
            continue
        for test in _flatten(loader.loadTestsFromName(name)):
            owner = f"{type(test).__module__}.{type(test).__qualname__}"
            classes[owner] = classes.get(owner, 0) + 1
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"classes": classes, "missing": missing}, handle)
    return 0


def main(argv: list[str]) -> int:
    # A process started in the background inherits SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler; CPython's runner tests interrupt themselves with SIGINT and
    # loop until it arrives.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if argv[0] == "--list":
        return list_classes(argv[1], argv[2:])
    out, names = argv[0], argv[1:]
    started = time.perf_counter()
    guard_before = _guard_state()

    # As under regrtest without -u: tests needing a resource (network, cpu, ...) are skipped.
    from test import support

    support.use_resources = []

    collector = _Collector()
    unraisable: list[dict[str, str]] = []
    thread_errors: list[dict[str, str]] = []
    logged: list[dict[str, str]] = []
    shown: list[dict[str, str]] = []

    def on_unraisable(event: object) -> None:
        value = getattr(event, "exc_value", None)
        unraisable.append(
            {
                "test": collector.current,
                "type": type(value).__name__,
                "message": _normalize(str(value)),
                "object": _normalize(repr(getattr(event, "object", None))),
            }
        )

    def on_thread_error(args: threading.ExceptHookArgs) -> None:
        thread_errors.append(
            {
                "test": collector.current,
                "type": args.exc_type.__name__,
                "message": _normalize(str(args.exc_value)),
            }
        )

    class _LogCollector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                message = record.getMessage().splitlines()[0] if record.getMessage() else ""
                logged.append({"test": collector.current, "message": _normalize(message, 80)})

    def on_warning(message: object, category: type, filename: str, lineno: int, *_: object) -> None:
        aw = sys.modules.get("asyncwarden")
        finding = aw is not None and issubclass(category, aw.AsyncWardenWarning)
        shown.append(
            {
                "test": collector.current,
                "category": category.__name__,
                "finding": finding,
                "message": _normalize(str(message), 120),
                "filename": filename,
            }
        )

    sys.unraisablehook = on_unraisable
    threading.excepthook = on_thread_error
    logging.getLogger("asyncio").addHandler(_LogCollector())
    warnings.showwarning = on_warning  # type: ignore[assignment]

    # Each name is a module or a module.Class; unittest runs setUpModule/setUpClass as usual.
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    # What exists now (modules, classes, the suite) lives to the end anyway; frozen, the garbage
    # collector skips it, so tests that call gc.collect() a hundred times don't scan it each time.
    gc.collect()
    gc.freeze()
    suite.run(collector)

    result = {
        "python": sys.version.split()[0],
        "asyncwarden_env": os.environ.get("ASYNCWARDEN"),
        "guard_before": guard_before,
        "guard_after": _guard_state(),
        "batches_seen": _batches_seen(),
        "outcomes": collector.outcomes,
        "details": collector.details,
        "unraisable": unraisable,
        "thread_errors": thread_errors,
        "asyncio_errors_logged": logged,
        "warnings_shown": shown,
        "names": names,
        "slow_tests": collector.slow_tests,
        "class_seconds": {name: round(sec, 2) for name, sec in collector.class_seconds.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
