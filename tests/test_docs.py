"""The code in README.md and docs/*.md runs, and does what the text around it says.

Every code block of those files is either run by a test here (found by its file and first line,
so an edited block is the block that runs) or listed in ``NOT_RUN`` with the reason. A new block
that is neither fails ``test_every_code_block_is_run_or_says_why_not``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclasses.dataclass(frozen=True)
class Block:
    path: str
    line: int
    language: str
    text: str

    @property
    def first(self) -> str:
        return next(line.strip() for line in self.text.splitlines() if line.strip())


def _blocks(path: Path) -> list[Block]:
    """Fenced blocks, and indented ones (four spaces after a blank line, outside a list)."""
    lines = path.read_text().splitlines()
    name = str(path.relative_to(ROOT))
    found: list[Block] = []
    index = 0
    while index < len(lines):
        fence = re.match(r"\s*```(\w*)", lines[index])
        if fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            body = textwrap.dedent("\n".join(lines[index + 1 : end]))
            found.append(Block(name, index + 1, fence.group(1), body))
            index = end + 1
            continue
        previous = lines[index - 1] if index else ""
        if lines[index].startswith("    ") and not previous.strip() and index:
            before = next((line for line in reversed(lines[:index]) if line.strip()), "")
            if not re.match(r"\s*([-*]|\d+\.) ", before) and not before.startswith("  "):
                end = index
                while end < len(lines) and (lines[end].startswith("    ") or not lines[end]):
                    end += 1
                body = textwrap.dedent("\n".join(lines[index:end])).strip("\n")
                found.append(Block(name, index + 1, "indented", body))
                index = end
                continue
        index += 1
    return found


def block(path: str, first: str) -> Block:
    """The block of ``path`` whose first line starts with ``first``."""
    matches = [b for b in _blocks(ROOT / path) if b.first.startswith(first)]
    assert len(matches) == 1, f"{path}: {len(matches)} blocks start with {first!r}"
    return matches[0]


# Blocks run by tests in other files, or not meant to run, and why.
NOT_RUN = {
    ("README.md", "make demo"): "make test is this suite; make demo is tests/e2e/test_examples.py",
    ("README.md", "pip install '/path/to/asyncwarden[pandas]'"): (
        "tests/e2e/test_install.py builds the wheel with this pip line and installs it"
    ),
    ("docs/pytest.md", "_______________________ ERROR at teardown"): (
        "a failure report; tests/e2e/test_pytest_plugin.py asserts its lines"
    ),
    ("docs/pytest.md", "====================== asyncwarden: 2 findings"): (
        "a summary; tests/e2e/test_pytest_plugin.py asserts its lines"
    ),
    ("docs/telemetry.md", '{"batch_id": 1'): "log lines wrapped for reading; tests/test_log.py",
    ("docs/performance.md", ".venv/bin/python benchmarks/run.py"): (
        "timings; tests/test_benchmarks_smoke.py runs --quick and --check"
    ),
    ("docs/reliability.md", ".venv/bin/pytest"): "parts of this test suite",
    ("docs/performance.md", "workload "): "benchmarks/run.py's output, one run as measured",
    ("docs/performance.md", "added cost per task"): "benchmarks/run.py's output, as measured",
    ("docs/performance.md", "budgets (+/-"): "benchmarks/run.py's output, as measured",
    ("docs/performance.md", "$ .venv/bin/python benchmarks/instructions.py"): (
        "instruction counts; tests/test_benchmarks_smoke.py runs the script"
    ),
    ("README.md", "import json, sys"): "tests/e2e/test_on_finding_e2e.py runs it",
    ("README.md", "%load_ext asyncwarden"): "IPython magics; tests/e2e/test_notebook.py runs them",
    ("docs/notebooks.md", "%load_ext asyncwarden"): (
        "IPython magics; tests/e2e/test_notebook.py runs them in a kernel"
    ),
    ("docs/notebooks.md", "%%asyncwarden strict"): (
        "IPython magics; tests/e2e/test_notebook.py runs them in a kernel"
    ),
    ("docs/notebooks.md", "AW101 unordered-concat: 4 frames"): (
        "a finding as a cell shows it; tests/e2e/test_notebook.py asserts its lines"
    ),
    ("docs/notebooks.md", "AW301 pending-at-shutdown: 1 task started by cell"): (
        "a finding as a cell shows it; tests/e2e/test_notebook.py asserts its lines"
    ),
    ("docs/reliability.md", ".venv-py313/bin/python -m pytest tests/compat/"): (
        "tests/compat/test_cpython_futures.py, this suite's own"
    ),
    ("docs/reliability.md", "python -m pytest distributed/tests/test_client.py"): (
        "run once by hand from a copy of dask/distributed's repository; figures beside it"
    ),
    ("docs/rules.md", "with ThreadPoolExecutor() as pool:"): (
        "a thread pool's wrong and right code; tests/test_futures_guard.py runs them"
    ),
    ("docs/rules.md", "concurrent.futures.wait(futures)"): "tests/test_futures_guard.py runs it",
    ("docs/rules.md", "frames = [f.result() for f in futures]"): (
        "tests/test_futures_guard.py and tests/test_dask_guard.py run it"
    ),
    ("docs/rules.md", "futures = client.map(read_day, days)"): (
        "dask's wrong and right code; tests/test_dask_guard.py runs them on its LocalCluster"
    ),
}


def runs(path: str, first: str) -> Block:
    """The block a test runs, which the inventory (``RUN_BY_TESTS``) must list."""
    assert (path, first) in RUN_BY_TESTS, f"add {(path, first)} to RUN_BY_TESTS"
    return block(path, first)


def _environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    # `python`, `pytest` and `asyncwarden` in the docs are this test run's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(settings)
    return env


def _shell(
    command: str, cwd: Path, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _python(
    source: str, cwd: Path, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    script = cwd / "example.py"
    script.write_text(source)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _commands(text: str) -> list[str]:
    return [line.split("  #")[0].strip() for line in text.splitlines() if line.strip()]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """`app.py` of the docs: a pipeline whose gather() drops a failed partition (AW201)."""
    shutil.copy(ROOT / "examples" / "swallowed_exceptions.py", tmp_path / "app.py")
    shutil.copy(ROOT / "examples" / "_partitions.py", tmp_path)
    return tmp_path


# -- README ---------------------------------------------------------------------------------------


def test_readme_switching_it_on_commands_do_what_their_comments_say(app: Path) -> None:
    warn, strict, run = _commands(runs("README.md", "ASYNCWARDEN=warn python app.py").text)
    done = _shell(warn, app)
    assert done.returncode == 0, done.stderr
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in done.stderr
    assert "days in the report" in done.stdout  # the program ran on
    for command in (strict, run):
        done = _shell(command, app)
        assert done.returncode == 1
        assert "asyncwarden.exceptions.FindingError: AW201 incomplete-batch" in done.stderr
        assert "days in the report" not in done.stdout


def test_readme_minus_w_by_rule_code_makes_that_rule_an_error_without_a_complaint(
    app: Path,
) -> None:
    commands = _commands(runs("README.md", "ASYNCWARDEN=warn python -W error:AW201").text)
    assert len(commands) == 2
    for command in commands:
        done = _shell(command, app)
        assert done.returncode == 1
        assert "IncompleteBatchWarning: AW201 incomplete-batch" in done.stderr
        assert "Traceback" in done.stderr  # raised, not printed
        assert "Invalid -W option" not in done.stderr
        # Another rule's code leaves this one a warning.
        other = _shell(command.replace("AW201", "AW101"), app)
        assert other.returncode == 0, other.stderr
        assert "IncompleteBatchWarning: AW201" in other.stderr


def test_readme_install_guarded_uninstall_block_runs_and_restores_asyncio(tmp_path: Path) -> None:
    code = runs("README.md", "import asyncwarden").text
    done = _python(
        "import asyncio\noriginal = asyncio.gather\n"
        + code
        + "\nassert not asyncwarden.is_installed()\nassert asyncio.gather is original\n"
        "print('restored')\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "restored"


def test_readme_provenance_and_lineage_return_what_the_comments_say(tmp_path: Path) -> None:
    code = runs("README.md", "asyncwarden.provenance(task)").text
    calls = [line.split("#")[0].strip() for line in code.splitlines()]
    source = f"""
import asyncio
import pandas as pd
import asyncwarden

async def load(day):
    return pd.DataFrame({{"day": [day]}})

async def main():
    tasks = [asyncio.create_task(load(day)) for day in range(3)]
    frames = await asyncio.gather(*tasks)
    return tasks[1], pd.concat(frames, ignore_index=True)

asyncwarden.install(mode="warn")
task, frame = asyncio.run(main())
print(repr({calls[0]}))
print(repr({calls[1]}))
"""
    done = _python(source, tmp_path)
    assert done.returncode == 0, done.stderr
    provenance, lineage = done.stdout.splitlines()
    assert provenance.startswith("TaskProvenance(batch_id=")
    assert "batch_kind='gather'" in provenance and "position=1" in provenance
    assert lineage.startswith("Lineage(operation=")
    assert "sources=(LineageSource(batch_id=" in lineage


def _finding_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.replace(str(ROOT), "/home/me/asyncwarden").rstrip()
        # The order the done set iterated in changes from run to run; the words around it do not.
        lines.append(re.sub(r"positions \[[\d, ]+\]", "positions [...]", line))
    return lines


def test_readme_finding_example_is_what_the_run_prints() -> None:
    shown = runs("README.md", "$ ASYNCWARDEN=warn python examples/etl_wrong.py").text
    command, *expected = shown.splitlines()
    # Most runs iterate the done set out of order (README's Limits); a lucky run reports nothing.
    # pymalloc places the tasks alike on every run, the system allocator does not (as in
    # tests/e2e/test_examples.py).
    for attempt in range(12):
        retry = {"PYTHONMALLOC": "malloc"} if attempt else {}
        done = _shell(command.removeprefix("$ "), ROOT, **retry)
        assert done.returncode == 0, done.stderr
        if done.stderr:
            break
    assert _finding_lines(done.stderr) == _finding_lines("\n".join(expected))


# -- pytest ---------------------------------------------------------------------------------------

PIPELINE_TEST = """
import asyncio
import pandas as pd

async def load(day):
    if day == 2:
        raise OSError("partition 2 is unreadable")
    return pd.DataFrame({"day": [day]})

def test_report():
    async def main():
        results = await asyncio.gather(*(load(d) for d in range(4)), return_exceptions=True)
        return pd.concat([r for r in results if not isinstance(r, Exception)])
    assert len(asyncio.run(main())) == 3
"""


def _pytest(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pytest_strict_option_and_ini_setting_fail_the_hazardous_test(tmp_path: Path) -> None:
    (tmp_path / "test_pipeline.py").write_text(PIPELINE_TEST)
    assert _pytest(tmp_path).returncode == 0  # the plugin changes nothing until asked
    (readme,) = _commands(runs("README.md", "pytest --asyncwarden=strict").text)
    (page,) = _commands(runs("docs/pytest.md", "pytest --asyncwarden=strict").text)
    assert readme == page
    done = _shell(page, tmp_path)
    assert done.returncode == 1
    assert runs("docs/pytest.md", "asyncwarden: strict (from").text in done.stdout
    assert "FindingError: AW201 incomplete-batch" in done.stdout

    (tmp_path / "pyproject.toml").write_text(
        runs("docs/pytest.md", "[tool.pytest.ini_options]").text
    )
    done = _pytest(tmp_path)
    assert done.returncode == 1
    assert "FindingError: AW201 incomplete-batch" in done.stdout


def test_pytest_marker_example_is_a_valid_test_module(tmp_path: Path) -> None:
    (tmp_path / "test_markers.py").write_text(runs("docs/pytest.md", "import pytest").text)
    done = _pytest(tmp_path, "--strict-markers", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


FIXTURE_HELPERS = """
import asyncio
import pandas as pd

async def _load(day, down=()):
    if day in down:
        raise OSError(f"partition {day} is down")
    return pd.DataFrame({"day": [day]})

def load_with_one_partition_down():
    async def main():
        loads = (_load(d, down=(1,)) for d in range(3))
        results = await asyncio.gather(*loads, return_exceptions=True)
        return pd.concat([r for r in results if not isinstance(r, Exception)])
    return asyncio.run(main())

def load_all():
    async def main():
        return pd.concat(await asyncio.gather(*(_load(d) for d in range(3))))
    return asyncio.run(main())

def load_from_the_done_set():
    async def main():
        done, _ = await asyncio.wait([asyncio.create_task(_load(d)) for d in range(3)])
        return pd.concat([t.result() for t in done]).reset_index(drop=True)
    return asyncio.run(main())
"""


def test_pytest_findings_fixture_example_passes_as_the_page_says(tmp_path: Path) -> None:
    code = runs("docs/pytest.md", "import asyncwarden").text
    (tmp_path / "test_findings.py").write_text(FIXTURE_HELPERS + "\n" + code)
    done = _pytest(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_pytest_example_suite_passes_and_fails_as_the_comments_say(tmp_path: Path) -> None:
    cd, plain, strict = _commands(runs("docs/pytest.md", "cd examples/strict_in_pytest").text)
    folder = ROOT / cd.removeprefix("cd ").strip()
    done = _shell(f"{plain} -p no:cacheprovider", folder)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout
    done = _shell(f"{strict} -p no:cacheprovider", folder)
    assert done.returncode == 1
    assert "FAILED test_pipeline.py::test_revenue_from_wait" in done.stdout
    assert "AW101 unordered-concat" in done.stdout
    assert "1 passed" in done.stdout
    # The failure report the page shows is this run's, line for line (pytest adds a few more).
    shown = _finding_lines(runs("docs/pytest.md", "def test_revenue_from_wait() -> None:").text)
    printed = iter(_finding_lines(done.stdout))
    missing = [line for line in shown if not any(line == seen for seen in printed)]
    assert missing == [], done.stdout


# -- telemetry ------------------------------------------------------------------------------------


def test_telemetry_instrumentor_block_sends_batch_spans_to_the_given_provider(
    tmp_path: Path,
) -> None:
    code = runs("docs/telemetry.md", "from asyncwarden.instrumentation import").text
    source = f"""
import asyncio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
meter_provider = MeterProvider()

{code}

async def main():
    await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

asyncio.run(main())
print(sorted(span.name for span in exporter.get_finished_spans()))
"""
    done = _python(source, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['asyncwarden.batch']"


def test_telemetry_opentelemetry_instrument_commands_work_as_printed(app: Path) -> None:
    console, guarded = _commands(runs("docs/telemetry.md", "OTEL_TRACES_EXPORTER=console").text)
    # The page's commands under OpenTelemetry's defaults, not this machine's settings.
    clean = " ".join(f"-u {k}" for k in os.environ if k.startswith("OTEL_"))
    done = _shell(f"env {clean} {console}", app)
    assert done.returncode == 0, done.stderr
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in done.stderr
    assert '"name": "asyncwarden.batch"' in done.stdout  # the console exporter's spans
    done = _shell(f"env {clean} {guarded}", app)
    assert done.returncode == 0, done.stderr
    assert "IncompleteBatchWarning: AW201 incomplete-batch" in done.stderr


# -- rules.md -------------------------------------------------------------------------------------

RULES_PRELUDE = """
import asyncio
import sys

import pandas as pd

import asyncwarden

days = [1, 2, 3, 4]


async def load(day):
    await asyncio.sleep(0.001 * ((day * 3) % 4))
    return pd.DataFrame(
        {"day": [day] * 3, "store": [0, 1, 2], "revenue": [10.0 * day + s for s in range(3)]}
    )


async def targets(day):
    await asyncio.sleep(0)
    return pd.DataFrame({"day": [day] * 3, "store": [0, 1, 2], "target": [100.0] * 3})


async def broken(day):
    raise OSError(f"partition {day} is unreadable")


async def slow(day):
    await asyncio.sleep(3600)
    return await load(day)


async def flush_partials():
    await asyncio.sleep(3600)


beat = flush_partials
"""

# What each block needs from its surroundings: setup lines run first inside `async def main()`.
# "module" blocks define main() themselves. A block whose names the prelude does not give is one
# the page's reader cannot run either.
ALL_LOADED = (
    "loads = [load(day) for day in days]\ntasks = [asyncio.create_task(load(d)) for d in days]"
)
ONE_FAILS = "loads = [load(1), load(2), broken(3), load(4)]"
ONE_LATE = "tasks = [asyncio.create_task(load(1)), asyncio.create_task(slow(2))]"
STRAGGLER = (
    "tasks = [asyncio.create_task(load(1)), asyncio.create_task(slow(2))]\n"
    "done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)\n"
    "results = [t.result() for t in done]"
)


@dataclasses.dataclass(frozen=True)
class Example:
    code: str
    heading: str  # "Wrong" or "Right"
    first: str
    setup: str = ""
    module: bool = False
    since: tuple[int, int] = (3, 10)


EXAMPLES = [
    Example("AW101", "Wrong", "tasks = [asyncio.create_task(load(day))"),
    Example("AW101", "Right", "frames = await asyncio.gather(*(load(day) for day in days))"),
    Example("AW102", "Wrong", "sales = pd.concat(await asyncio.gather(*(load(d) for d in days)))"),
    Example("AW102", "Right", "sales = pd.concat(await asyncio.gather(*(load(d) for d in days)),"),
    Example("AW201", "Wrong", "results = await asyncio.gather(*loads", setup=ONE_FAILS),
    Example("AW201", "Wrong", "done, pending = await asyncio.wait(tasks, timeout=5)", ONE_LATE),
    Example(
        "AW201",
        "Right",
        "frames = await asyncio.gather(*loads)",
        ALL_LOADED + "\npending = set()",
        since=(3, 11),
    ),
    Example("AW301", "Wrong", "async def main():", module=True),
    Example("AW301", "Right", "async def main():", module=True),
    Example("AW302", "Wrong", "done, pending = await asyncio.wait(tasks, timeout=5)", ONE_LATE),
    Example(
        "AW302",
        "Right",
        "done, pending = await asyncio.wait(tasks, timeout=5)",
        ONE_LATE,
        since=(3, 11),
    ),
    Example("AW303", "Wrong", "for task in pending:", STRAGGLER),
    Example("AW303", "Right", "for task in pending:", STRAGGLER),
]


def _rule_block(example: Example) -> str:
    """The block under the example's heading (for Wrong, its paragraph starting with ``first``)."""
    text = (ROOT / "docs" / "rules.md").read_text()
    section = re.search(rf"^## {example.code} .*?(?=^## |\Z)", text, re.M | re.S)
    assert section, example.code
    part = re.search(rf"^{example.heading}:\n\n```python\n(.*?)^```", section.group(0), re.M | re.S)
    assert part, f"{example.code} has no {example.heading} block"
    body = part.group(1)
    if example.heading == "Wrong":
        # Each paragraph of a Wrong block is a mistake of its own; each must be reported.
        paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
        (body,) = [p for p in paragraphs if p.strip().startswith(example.first)]
    assert body.strip().startswith(example.first)
    return body


def block_first(section: str, heading: str) -> str:
    part = re.search(rf"^{heading}:\n\n```python\n(.*?)\n", section, re.M)
    assert part
    return part.group(1).strip()


def _program(example: Example, body: str) -> str:
    if example.module:
        runner = "asyncio.run(main())\nif 'serve' in globals():\n    asyncio.run(serve())\n"
        return f"{RULES_PRELUDE}\n{body}\n{runner}"
    inner = textwrap.indent(f"{example.setup}\n{body}", "    ")
    return f"{RULES_PRELUDE}\nasync def main():\n{inner}\n\nasyncio.run(main())\n"


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{e.code}-{e.heading}-{e.first[:20]}" for e in EXAMPLES]
)
def test_rules_examples_wrong_is_reported_and_right_is_clean_in_strict_mode(
    example: Example, tmp_path: Path
) -> None:
    if sys.version_info < example.since:
        pytest.skip(f"the example uses Python {example.since[0]}.{example.since[1]} API")
    done = _python(_program(example, _rule_block(example)), tmp_path, ASYNCWARDEN="strict")
    raised = re.findall(r"asyncwarden\.exceptions\.FindingError: (AW\d{3})", done.stderr)
    if example.heading == "Wrong":
        assert raised == [example.code], done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert not re.search(r"AW\d{3}", done.stderr), done.stderr


# -- the inventory --------------------------------------------------------------------------------


def test_every_code_block_is_run_or_says_why_not() -> None:
    text = (ROOT / "docs" / "rules.md").read_text()
    covered = set(RUN_BY_TESTS)
    for example in EXAMPLES:
        section = re.search(rf"^## {example.code} .*?(?=^## |\Z)", text, re.M | re.S)
        assert section
        covered.add(("docs/rules.md", block_first(section.group(0), example.heading)))
    unaccounted = []
    for path in DOCS:
        for found in _blocks(path):
            keys = [(p, f) for p, f in covered | NOT_RUN.keys() if p == found.path]
            if not any(found.first.startswith(first) for _, first in keys):
                unaccounted.append(f"{found.path}:{found.line} {found.first!r}")
    assert not unaccounted, "blocks neither run nor listed in NOT_RUN:\n" + "\n".join(unaccounted)


# The blocks the tests of this module run, by file and first line; `runs()` checks that a test
# names only these (the inventory cannot wait for the other tests: under xdist they run apart).
RUN_BY_TESTS = {
    ("README.md", "ASYNCWARDEN=warn python app.py"),
    ("README.md", "ASYNCWARDEN=warn python -W error:AW201"),
    ("README.md", "import asyncwarden"),
    ("README.md", "asyncwarden.provenance(task)"),
    ("README.md", "$ ASYNCWARDEN=warn python examples/etl_wrong.py"),
    ("README.md", "pytest --asyncwarden=strict"),
    ("docs/pytest.md", "pytest --asyncwarden=strict"),
    ("docs/pytest.md", "asyncwarden: strict (from"),
    ("docs/pytest.md", "[tool.pytest.ini_options]"),
    ("docs/pytest.md", "import pytest"),
    ("docs/pytest.md", "import asyncwarden"),
    ("docs/pytest.md", "cd examples/strict_in_pytest"),
    ("docs/pytest.md", "def test_revenue_from_wait() -> None:"),
    ("docs/telemetry.md", "from asyncwarden.instrumentation import"),
    ("docs/telemetry.md", "OTEL_TRACES_EXPORTER=console"),
}
