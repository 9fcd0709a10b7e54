"""The corpus: realistic pipelines, correct and hazardous, run as a user runs them.

Each program in ``tests/corpus/`` is a standalone script that loads partitions concurrently and
combines them with pandas. Its header says what it is:

    # expect: AW101          one or more rule codes, or "clean"
    # shape: ...             one line: the pipeline's shape
    # requires: 3.11         optional: the oldest Python it runs on
    # reports: 2             optional: findings per expected code in one warn run (default 1)

Every program runs in a fresh interpreter with ``ASYNCWARDEN=off``, ``warn`` and ``strict``
(``ASYNCWARDEN_REPEAT=always``, so each finding is a warning of its own in warn mode):

- a correct program reports nothing, in strict mode on every run, and prints exactly what it
  prints with the guard off;
- a hazard is caught in strict mode on every run (the first finding is an expected one, and the
  program fails with ``FindingError``). In warn mode it prints what it prints unguarded, except
  for the order a set happened to iterate in, and reports each expected code. A hazard prints
  that order on lines ``order: [positions in the order they were combined]``; those lines are
  compared as sorted lists, and an AW101 is only required on a run where one of them is not
  ascending (warn mode never reorders, and on a lucky run nothing went wrong).

Runs per program: 5 strict runs of each correct program, 1 of each hazard, 1 warn run and 1
unguarded run. ``pytest tests/e2e/test_corpus.py --corpus-runs N`` makes it N strict and N warn
runs of every program, for a deeper check; warn runs after the first use the system allocator
(``PYTHONMALLOC=malloc``), so that sets iterate in other orders.

What today's guard gets wrong is listed once, in ``KNOWN_GAPS``: those cases are expected to
fail (``xfail_strict``), so a fix turns them into failures until its entry is deleted. A gap
that shows on some runs only is also in ``FLAKY_GAPS`` (not strict), and its test runs until
the gap shows, up to ``GAP_RUNS`` times.
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ROOT, run_python

CORPUS = ROOT / "tests" / "corpus"

# (mode, program) -> what today's guard gets wrong there. Delete an entry once it is fixed.
_QUEUE = "README Limits: frames appended by Queue workers are not results of a batch's tasks"
_CALLBACKS = "README Limits: a TaskGroup's completion order would cost a callback per task"
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("strict", "queue_workers_append.py"): _QUEUE,
    ("warn", "queue_workers_append.py"): _QUEUE,
    ("strict", "taskgroup_callbacks_append.py"): _CALLBACKS,
    ("warn", "taskgroup_callbacks_append.py"): _CALLBACKS,
}
# Gaps that today's guard shows on some runs only, and on a quiet machine seldom: not strict, so
# that a run where the gap did not show is not a failure. Delete both entries once it is fixed.
FLAKY_GAPS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Program:
    name: str
    expect: frozenset[str]
    shape: str
    requires: tuple[int, int]
    reports: int

    @property
    def path(self) -> str:
        return f"tests/corpus/{self.name}"


_HEADER = re.compile(r"^# (expect|shape|requires|reports): (.+)$")


def _read(name: str) -> Program:
    fields: dict[str, str] = {}
    for line in (CORPUS / name).read_text().splitlines():
        match = _HEADER.match(line)
        if not match:
            break
        fields[match[1]] = match[2].strip()
    codes = fields["expect"].replace(",", " ").split()
    major, minor = fields.get("requires", "3.10").split(".")
    return Program(
        name=name,
        expect=frozenset() if codes == ["clean"] else frozenset(codes),
        shape=fields["shape"],
        requires=(int(major), int(minor)),
        reports=int(fields.get("reports", "1")),
    )


PROGRAMS = [_read(path.name) for path in sorted(CORPUS.glob("*.py"))]
CORRECT = [p for p in PROGRAMS if not p.expect]
HAZARDS = [p for p in PROGRAMS if p.expect]


def _params(programs: list[Program], mode: str) -> list[Any]:
    params = []
    for program in programs:
        marks: list[pytest.MarkDecorator] = []
        if sys.version_info < program.requires:
            marks.append(pytest.mark.skip(reason=f"needs Python {program.requires}"))
        gap = KNOWN_GAPS.get((mode, program.name))
        if gap:
            strict = (mode, program.name) not in FLAKY_GAPS
            marks.append(pytest.mark.xfail(strict=strict, reason=f"issue 19: {gap}"))
        params.append(pytest.param(program, id=program.name.removesuffix(".py"), marks=marks))
    return params


# A known gap of today's guard may show on some runs only (it depends on which partitions finish
# together, or how a set happens to iterate): its test runs until the gap shows, at most this
# often, so that the expected failure is reliable.
GAP_RUNS = 20


@pytest.fixture
def runs(request: pytest.FixtureRequest) -> Callable[[int], range]:
    """The runs of this test: ``--corpus-runs`` or the default, more for a known gap."""
    chosen: int | None = request.config.getoption("corpus_runs")
    gap = request.node.get_closest_marker("xfail") is not None

    def count(default: int) -> range:
        wanted = chosen or default
        return range(max(wanted, GAP_RUNS) if gap else wanted)

    return count


_WARNING = re.compile(r"^\S.*:\d+: \w+Warning: (AW\d{3}) ", re.MULTILINE)
_RAISED = re.compile(r"FindingError: (AW\d{3})")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def findings(self) -> list[str]:
        """Rule codes in the order reported: warnings in warn mode, FindingError in strict."""
        return _WARNING.findall(self.stderr) or _RAISED.findall(self.stderr)

    @property
    def codes(self) -> Counter[str]:
        return Counter(self.findings)

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def _run(program: Program, mode: str, attempt: int = 0) -> Run:
    # Findings are counted from their warnings (one per occurrence with ASYNCWARDEN_REPEAT) and
    # from FindingError in strict mode. ASYNCWARDEN_LOG=json would be machine-readable too, but
    # it switches telemetry on, and its first event imports structlog inside the program's first
    # batch: that stall alone changes which partitions finish together.
    env = {"ASYNCWARDEN": mode}
    if mode != "off":
        env["ASYNCWARDEN_REPEAT"] = "always"
    if mode == "warn" and attempt:
        # Warn mode iterates a set as it comes, in the order of the tasks' addresses, which
        # pymalloc repeats from run to run; the system allocator varies them.
        env["PYTHONMALLOC"] = "malloc"
    result: subprocess.CompletedProcess[str] = run_python(program.path, env=env, timeout=120)
    return Run(result.returncode, result.stdout, result.stderr)


@functools.cache
def _unguarded(program: Program) -> Run:
    run = _run(program, "off")
    assert run.returncode == 0, run.describe()
    assert run.stderr == "", run.describe()
    return run


_ORDER = "order: "


def _orders(stdout: str) -> list[list[Any]]:
    return [list(ast.literal_eval(line[len(_ORDER) :])) for line in _lines(stdout, _ORDER)]


def _lines(stdout: str, prefix: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(prefix)]


def _up_to_set_order(stdout: str) -> list[str]:
    """The output with each ``order:`` line replaced by its sorted positions."""
    return [
        _ORDER + repr(sorted(ast.literal_eval(line[len(_ORDER) :])))
        if line.startswith(_ORDER)
        else line
        for line in stdout.splitlines()
    ]


def test_the_corpus_holds_correct_and_hazardous_programs_with_valid_headers() -> None:
    assert len(PROGRAMS) >= 34
    assert len(CORRECT) >= 15
    assert len(HAZARDS) >= 15
    for program in PROGRAMS:
        assert program.shape
        assert program.reports >= 1
        assert all(re.fullmatch(r"AW[1-3]0[1-3]", code) for code in program.expect), program
    for mode, name in KNOWN_GAPS:
        assert mode in ("strict", "warn")
        assert (CORPUS / name).is_file(), name
    assert FLAKY_GAPS.issubset(KNOWN_GAPS)


def test_every_aw101_hazard_prints_the_order_it_combined_in() -> None:
    for program in HAZARDS:
        if "AW101" in program.expect:
            text = (CORPUS / program.name).read_text()
            assert 'print("order:"' in text, program.name


@pytest.mark.parametrize("program", _params(CORRECT, "strict"))
def test_correct_program_is_silent_in_strict_mode_on_every_run(
    program: Program, runs: Callable[[int], range]
) -> None:
    expected = _unguarded(program).stdout
    for _ in runs(5):
        run = _run(program, "strict")
        assert run.findings == [], run.describe()
        assert run.returncode == 0, run.describe()
        assert run.stderr == "", run.describe()
        assert run.stdout == expected


@pytest.mark.parametrize("program", _params(CORRECT, "warn"))
def test_correct_program_in_warn_mode_prints_what_it_prints_unguarded_and_no_finding(
    program: Program, runs: Callable[[int], range]
) -> None:
    expected = _unguarded(program).stdout
    for attempt in runs(1):
        run = _run(program, "warn", attempt)
        assert run.findings == [], run.describe()
        assert run.returncode == 0, run.describe()
        assert run.stderr == "", run.describe()
        assert run.stdout == expected


@pytest.mark.parametrize("program", _params(HAZARDS, "strict"))
def test_hazard_is_caught_in_strict_mode_on_every_run(
    program: Program, runs: Callable[[int], range]
) -> None:
    _unguarded(program)
    for _ in runs(1):
        run = _run(program, "strict")
        assert run.returncode != 0, run.describe()
        # Later findings may follow from the first (tasks still running when it was raised).
        raised = _RAISED.findall(run.stderr)
        assert raised, run.describe()
        assert raised[0] in program.expect, run.describe()


@pytest.mark.parametrize("program", _params(HAZARDS, "warn"))
def test_hazard_in_warn_mode_is_reported_and_prints_the_same_up_to_set_order(
    program: Program, runs: Callable[[int], range]
) -> None:
    unguarded = _unguarded(program)
    for attempt in runs(1):
        run = _run(program, "warn", attempt)
        assert run.returncode == 0, run.describe()
        assert _up_to_set_order(run.stdout) == _up_to_set_order(unguarded.stdout)
        assert "asyncwarden: internal error" not in run.stderr, run.describe()
        codes = run.codes
        assert set(codes) <= program.expect, run.describe()
        shuffled = any(order != sorted(order) for order in _orders(run.stdout))
        for code in program.expect:
            least = 0 if code == "AW101" and not shuffled else 1
            assert least <= codes[code] <= program.reports, run.describe()
