"""``%load_ext asyncwarden`` in a real Jupyter kernel, executed by nbclient as Jupyter runs it.

One kernel runs one notebook for the whole module; each test reads the outputs of its cells.
The names the pipeline uses are imported before the extension is loaded, as in a notebook
where someone switches the guard on halfway through.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from tests.conftest import ROOT, run_python  # noqa: E402
from tests.test_docs import block  # noqa: E402

pytestmark = pytest.mark.xdist_group("kernel")

_NOTEBOOKS = "docs/notebooks.md"

PRELUDE = """\
import asyncio, json, random
from asyncio import gather, wait
import pandas as pd
from pandas import concat
import asyncwarden


async def part(day):
    await asyncio.sleep(random.uniform(0, 0.005))
    return pd.DataFrame({"day": [day], "revenue": [100 + day]})


async def forever():
    await asyncio.sleep(3600)


ready = [asyncio.Event() for _ in range(4)]


async def when_ready(day):
    await ready[day].wait()
    return await part(day)
"""

# AW101 is decided at the concat result's first use: here the running total on line 4.
WRONG = """\
tasks = [asyncio.create_task(part(day)) for day in range(4)]
done, _ = await wait(tasks)
sales = concat([task.result() for task in done], ignore_index=True)
sales["running"] = sales["revenue"].cumsum()
"""

# Completion order, reversed on every run: one partition may finish at a time, the last first.
WRONG_ALWAYS = """\
tasks = [asyncio.create_task(when_ready(day)) for day in range(4)]
frames = []
for day, finished in zip(reversed(range(4)), asyncio.as_completed(tasks)):
    ready[day].set()
    frames.append(await finished)
sales = concat(frames, ignore_index=True)
sales["running"] = sales["revenue"].cumsum()
"""

RIGHT = """\
sales = concat(await gather(*(part(day) for day in range(4))), ignore_index=True)
list(sales["day"])
"""

# (name, source); In[n] is the cell's position + 1, as every cell runs once, in order.
CELLS = [
    ("prelude", PRELUDE),
    ("load", block(_NOTEBOOKS, "%load_ext asyncwarden").text),
    ("strict_wrong", WRONG),
    ("strict_right", RIGHT),
    ("after_error", 'print("next cell ran")'),
    ("rebound", "print(wait is asyncio.wait, concat is pd.concat, hasattr(wait, '__wrapped__'))"),
    (
        "findings_to_file",
        "stop = asyncwarden.on_finding(\n"
        "    lambda f: open(LOG, 'a').write(json.dumps(f.to_dict()) + '\\n')\n"
        ")",
    ),
    ("warn", "%asyncwarden warn"),
    ("warn_wrong", WRONG_ALWAYS),
    ("make_tasks", "tasks = [asyncio.create_task(part(day)) for day in range(4)]"),
    ("one_cell_strict", block(_NOTEBOOKS, "%%asyncwarden strict").text),
    ("mode_after_cell", "%asyncwarden"),
    ("one_cell_off", "%%asyncwarden off  # just this cell\nprint(hasattr(wait, '__wrapped__'))"),
    ("after_one_cell_off", "print(hasattr(wait, '__wrapped__'))"),
    ("bad_cell_mode", "%%asyncwarden loud\nprint('never')"),
    ("left_behind", 'asyncio.create_task(forever())\nprint("started")'),
    ("kept", "kept = asyncio.create_task(forever())"),
    ("awaited", "first = await asyncio.create_task(part(0))"),
    (
        "tracked",
        "background = set()\nt = asyncio.create_task(forever())\nbackground.add(t)\n"
        "t.add_done_callback(background.discard)\ndel t",
    ),
    (
        "left_behind_strict",
        '%%asyncwarden strict\nasyncio.create_task(forever())\nprint("started")',
    ),
    (
        "off",
        "%asyncwarden off\n"
        "print(wait is asyncio.wait, hasattr(wait, '__wrapped__'), hasattr(concat, '__wrapped__'))",
    ),
    ("bad_mode", "%asyncwarden loud"),
    ("on_again", "%asyncwarden warn"),
]


def _cell_number(name: str) -> int:
    return [n for n, _ in CELLS].index(name) + 1


def execute(notebook: Any, folder: Path) -> None:
    """Run every cell in a fresh kernel of this interpreter, errors kept as outputs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCWARDEN")}
    env["IPYTHONDIR"] = str(folder / "ipython")
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("notebook")
    log = folder / "findings.jsonl"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(source.replace("LOG", repr(str(log)))) for _, source in CELLS
    ]
    execute(notebook, folder)  # returns once the kernel has shut down
    outputs = {name: cell.outputs for (name, _), cell in zip(CELLS, notebook.cells, strict=True)}
    logged = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return {"outputs": outputs, "logged": logged}


def _plain(traceback: list[str]) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))


def _of(run: dict[str, Any], name: str, kind: str) -> list[Any]:
    return [o for o in run["outputs"][name] if o["output_type"] == kind]


def _text(run: dict[str, Any], name: str, stream: str = "stdout") -> str:
    return "".join(o["text"] for o in _of(run, name, "stream") if o["name"] == stream)


def _finding_blocks(run: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return [
        (o["data"]["text/plain"], o["data"]["text/html"])
        for o in _of(run, name, "display_data")
        if "asyncwarden-finding" in o["data"].get("text/html", "")
    ]


def test_setup_cells_run_clean(run: dict[str, Any]) -> None:
    for name in ("prelude", "load", "findings_to_file", "warn", "make_tasks"):
        assert run["outputs"][name] == [], name


def test_the_docs_load_the_extension_alike() -> None:
    loads = [block(path, "%load_ext asyncwarden").text for path in ("README.md", _NOTEBOOKS)]
    assert loads == ["%load_ext asyncwarden\n%asyncwarden strict"] * 2


def test_wait_into_concat_with_names_imported_before_the_extension_fails_in_strict_mode(
    run: dict[str, Any],
) -> None:
    (error,) = _of(run, "strict_wrong", "error")
    assert error["ename"] == "FindingError"
    assert error["evalue"].startswith("AW101 unordered-concat: 4 frames from asyncio.wait()")
    # The traceback ends in the user's cell, at the first use, not inside asyncwarden's delivery.
    traceback = _plain(error["traceback"])
    assert f"In[{_cell_number('strict_wrong')}]" in traceback
    assert "_report.py" not in traceback
    assert f"asyncio.wait() #1  In[{_cell_number('strict_wrong')}], line 2" in traceback
    assert f"first use          In[{_cell_number('strict_wrong')}], line 4" in traceback
    assert "ipykernel_" not in traceback


def test_the_strict_finding_is_shown_in_its_cell_with_cell_line_and_fix(
    run: dict[str, Any],
) -> None:
    ((text, html),) = _finding_blocks(run, "strict_wrong")
    cell = f"In[{_cell_number('strict_wrong')}]"
    assert text.startswith("AW101 unordered-concat: ")
    assert "(strict mode: raised)" in text
    assert f"{cell}, line 3:  sales = concat(" in text
    assert f"asyncio.wait() #1  {cell}, line 2" in text
    assert f"first use          {cell}, line 4" in text
    assert "fix" in text and "use asyncio.gather()" in text
    assert "ipykernel_" not in text  # cells are named, not their temporary files
    # docs/notebooks.md shows this cell's block (in warn mode); the order differs run to run.
    shown = block(_NOTEBOOKS, "AW101 unordered-concat: 4 frames").text.splitlines()
    assert text.splitlines()[0] == shown[0] + " (strict mode: raised)"
    for line in shown[1:]:
        assert line in text or "positions" in line or "submission order" in line, line
    assert "<b style='color:#c62828'>AW101 unordered-concat</b>" in html
    assert f"<b>{cell}, line 3</b>" in html
    assert "use asyncio.gather()" in html
    assert "sales = concat([task.result() for task in done], ignore_index=True)" in html


def test_a_gather_cell_passes_and_the_next_cell_still_runs(run: dict[str, Any]) -> None:
    (result,) = _of(run, "strict_right", "execute_result")
    assert result["data"]["text/plain"] == "[0, 1, 2, 3]"
    assert _of(run, "strict_right", "error") == []
    assert _finding_blocks(run, "strict_right") == []
    assert _text(run, "after_error") == "next cell ran\n"


def test_names_bound_before_the_guard_are_rebound_and_put_back_on_off(
    run: dict[str, Any],
) -> None:
    assert _text(run, "rebound") == "True True True\n"
    assert _text(run, "off") == "True False False\n"


def test_warn_mode_shows_the_block_instead_of_the_warning_and_the_cell_succeeds(
    run: dict[str, Any],
) -> None:
    assert _of(run, "warn_wrong", "error") == []
    ((text, _),) = _finding_blocks(run, "warn_wrong")
    assert text.startswith("AW101 unordered-concat: ")
    assert "strict mode" not in text
    assert f"In[{_cell_number('warn_wrong')}], line 6:  sales = concat(" in text
    assert "asyncio.as_completed()" in text.splitlines()[0]
    assert "UnorderedConcatWarning" not in _text(run, "warn_wrong", "stderr")


def test_cell_magic_applies_strict_mode_to_its_cell_only(run: dict[str, Any]) -> None:
    (error,) = _of(run, "one_cell_strict", "error")
    assert error["ename"] == "FindingError"
    traceback = _plain(error["traceback"])
    # The magic's line is kept as an empty line: the user's lines keep their numbers. The concat
    # is on line 3, its result's first use on line 4.
    assert f"In[{_cell_number('one_cell_strict')}], line 3" in traceback
    assert f"In[{_cell_number('one_cell_strict')}], line 4" in traceback
    assert _text(run, "mode_after_cell") == "asyncwarden: warn\n"


def test_off_for_one_cell_unbinds_the_names_for_that_cell_only(run: dict[str, Any]) -> None:
    assert _text(run, "one_cell_off") == "False\n"
    assert _text(run, "after_one_cell_off") == "True\n"


def test_a_bad_cell_mode_is_a_usage_error_and_the_cell_does_not_run(run: dict[str, Any]) -> None:
    assert _text(run, "bad_cell_mode") == ""
    assert _text(run, "bad_cell_mode", "stderr").startswith(
        "UsageError: %%asyncwarden='loud' is not valid; accepted: off, warn, strict"
    )


def test_a_task_left_pending_by_its_cell_is_reported_for_that_cell(run: dict[str, Any]) -> None:
    assert _text(run, "left_behind") == "started\n"
    ((text, _),) = _finding_blocks(run, "left_behind")
    cell = _cell_number("left_behind")
    assert text.startswith(
        f"AW301 pending-at-shutdown: 1 task started by cell In[{cell}] is still pending after "
        "it ended, neither awaited nor kept"
    )
    assert "coroutine forever()" in text
    documented = block(_NOTEBOOKS, "AW301 pending-at-shutdown: 1 task started by cell").text
    assert text.splitlines()[0] == documented.replace("In[7]", f"In[{cell}]")
    assert _of(run, "left_behind", "error") == []  # warn mode


def test_tasks_kept_awaited_or_tracked_are_not_reported_at_cell_end(run: dict[str, Any]) -> None:
    for name in ("kept", "awaited", "tracked"):
        assert _finding_blocks(run, name) == [], name
        assert _of(run, name, "error") == [], name


def test_a_left_task_fails_its_cell_in_strict_mode(run: dict[str, Any]) -> None:
    assert _text(run, "left_behind_strict") == "started\n"
    (error,) = _of(run, "left_behind_strict", "error")
    assert error["ename"] == "FindingError"
    assert error["evalue"].startswith("AW301 pending-at-shutdown: 1 task started by cell")


def test_a_bad_mode_gets_one_clear_message_and_no_traceback(run: dict[str, Any]) -> None:
    assert _of(run, "bad_mode", "error") == []  # IPython shows a UsageError as its message only
    assert _text(run, "bad_mode", "stderr").startswith(
        "UsageError: %asyncwarden='loud' is not valid; accepted: off, warn, strict"
    )


def test_findings_reach_on_finding_and_the_kept_tasks_are_aw301_at_kernel_shutdown(
    run: dict[str, Any],
) -> None:
    rules = [(f["rule"], f["title"]) for f in run["logged"]]
    cell_end = [title for rule, title in rules if "started by cell" in title]
    assert len(cell_end) == 2  # left_behind, left_behind_strict
    assert [rule for rule, _ in rules if rule == "AW101"] == ["AW101", "AW101"]
    (shutdown,) = [f for f in run["logged"] if "interpreter exit" in f["title"]]
    assert shutdown["rule"] == "AW301"
    # kept, tracked: still pending at exit; the tasks reported for their cells are not repeated.
    assert shutdown["title"].startswith("2 tasks still pending")
    assert shutdown["message"].count("coroutine forever()") == 2


def test_the_example_notebook_runs_as_documented(tmp_path: Path) -> None:
    notebook = nbformat.read(ROOT / "examples" / "notebook.ipynb", as_version=4)
    execute(notebook, tmp_path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o["output_type"] == "error"]
    tagged = [c for c in code if "raises-exception" in c.metadata.get("tags", [])]
    assert [e["ename"] for e in errors] == ["FindingError"] * len(tagged)
    shown = [
        o["data"]["text/plain"].split(":")[0]
        for c in code
        for o in c.outputs
        if "asyncwarden-finding" in o.get("data", {}).get("text/html", "")
    ]
    assert shown == ["AW101 unordered-concat", "AW301 pending-at-shutdown"]
    last = code[-1].outputs[-1]
    assert last["data"]["text/plain"] == "True"  # the original function is back


# Terminal IPython, driven through its API in a fresh interpreter: cells run one by one, each
# announced on stdout, so each finding can be matched to the cell that printed it.
TERMINAL = """
from IPython.terminal.interactiveshell import TerminalInteractiveShell

shell = TerminalInteractiveShell.instance(colors="nocolor")
for cell in CELLS:
    print(f"=== In[{shell.execution_count}]", flush=True)
    result = shell.run_cell(cell, store_history=True)
    error = result.error_in_exec
    print(f"=== {type(error).__name__ if error else 'ok'}", flush=True)
"""


def _terminal_cells(stdout: str) -> dict[int, tuple[str, str]]:
    """In[n] -> (what the cell printed, how it ended)."""
    cells = {}
    for chunk in stdout.split("=== In[")[1:]:
        number, _, rest = chunk.partition("]\n")
        printed, _, outcome = rest.rpartition("=== ")
        cells[int(number)] = (printed, outcome.strip())
    return cells


def test_terminal_ipython_prints_findings_as_text_and_strict_fails_only_that_cell() -> None:
    cells = [
        PRELUDE,
        "%load_ext asyncwarden",
        WRONG_ALWAYS,
        "%asyncwarden strict",
        WRONG,
        RIGHT,
        "asyncio.create_task(forever())\nawait asyncio.sleep(0)",
        "%unload_ext asyncwarden\nprint(hasattr(wait, '__wrapped__'), asyncwarden.is_installed())",
        "%asyncwarden",
    ]
    result = run_python("-c", f"CELLS = {cells!r}\n{TERMINAL}")
    assert result.returncode == 0, result.stderr
    ran = _terminal_cells(result.stdout)
    outcomes = [ran[n][1] for n in range(1, 10)]
    assert outcomes == [
        *("ok", "ok", "ok", "ok", "FindingError", "ok", "FindingError"),
        *("ok", "UsageError"),  # unloaded: the original functions back, the magic gone
    ]
    assert ran[8][0] == "False False\n"
    warned, _ = ran[3]
    assert warned.startswith("AW101 unordered-concat: 4 frames from asyncio.as_completed()")
    assert "  In[3], line 6:  sales = concat(" in warned
    assert "<div" not in warned  # the plain text form, not the HTML
    assert "UnorderedConcatWarning" not in result.stderr
    raised, _ = ran[5]
    assert raised.startswith("AW101 unordered-concat: ")
    assert "(strict mode: raised)" in raised
    assert '----> 4 sales["running"] = ' in raised  # IPython's traceback, ending at the user's line
    assert "_report.py" not in raised
    assert ran[6][0] == "[0, 1, 2, 3]\n" or "Out[6]: [0, 1, 2, 3]" in ran[6][0]
    left, _ = ran[7]  # strict mode: the cell that left it fails
    assert left.startswith(
        "AW301 pending-at-shutdown: 1 task started by cell In[7] is still pending after it ended"
    )
    assert "FindingError: AW301 pending-at-shutdown" in left


def test_import_asyncwarden_never_imports_ipython() -> None:
    result = run_python(
        "-c",
        "import sys, asyncio, asyncwarden\n"
        "asyncwarden.install('warn')\n"
        "import pandas\n"
        "assert callable(asyncwarden.load_ipython_extension)\n"
        "print(sorted(m for m in ('IPython', 'ipykernel') if m in sys.modules))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
