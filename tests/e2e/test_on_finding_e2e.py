"""``asyncwarden.on_finding`` as a service or a harness uses it: a fresh interpreter, the guard
switched on by the variable, findings collected in code and compared with the JSON log.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_python
from tests.test_docs import block

# A wrong pipeline (as_completed's order into concat), twice from the same line (the warning
# shows once per line, the callback is called for each), then a callback that unregisters
# itself. What it collected is printed as JSON on stdout; the JSON log goes to stderr.
APP = """
import asyncio, json, sys
import pandas as pd
import asyncwarden

collected = []
unregister = asyncwarden.on_finding(collected.append)


async def part(i, ready):
    await ready.wait()
    return pd.DataFrame({"day": [i]})


async def wrong():
    ready = [asyncio.Event() for _ in range(3)]
    tasks = [asyncio.create_task(part(i, ready[i])) for i in range(3)]
    frames = []
    # Completion order, reversed on every run: one partition may finish at a time, the last first.
    for i, finished in zip(reversed(range(3)), asyncio.as_completed(tasks)):
        ready[i].set()
        frames.append(await finished)
    days = pd.concat(frames, ignore_index=True)
    return days.to_dict("records")  # the first use reads the rows as they came


raised = []
for _ in range(2):
    try:
        asyncio.run(wrong())
    except asyncwarden.FindingError as error:
        raised.append(error.finding)
unregister()
unregister()  # idempotent
asyncio.run(wrong()) if not raised else None
print(json.dumps({
    "collected": [f.to_dict() for f in collected],
    "raised_is_collected": [any(r is c for c in collected) for r in raised],
    "types": sorted({type(f).__name__ for f in collected}),
}))
"""


def _run(tmp_path: Path, mode: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    result = run_python(str(app), env={"ASYNCWARDEN": mode, "ASYNCWARDEN_LOG": "json"})
    assert result.returncode == 0, result.stderr
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return json.loads(result.stdout), [e for e in logged if e["event"] == "asyncwarden.finding"]


def test_warn_mode_calls_back_with_every_finding_and_to_dict_is_the_json_log_event(
    tmp_path: Path,
) -> None:
    out, logged = _run(tmp_path, "warn")
    collected = out["collected"]
    assert isinstance(collected, list)
    # Both runs, although the warning was shown once; nothing after unregister().
    assert [f["rule"] for f in collected] == ["AW101", "AW101"]
    assert out["types"] == ["Finding"]
    assert len(logged) == 3  # the third run logs, the unregistered callback is not called
    for fields, event in zip(collected, logged, strict=False):
        assert {k: event[k] for k in fields} == fields
        assert set(event) - set(fields) <= {"event", "level", "timestamp", "logger"}
    first = collected[0]
    assert first["file"] == str(tmp_path / "app.py")
    assert first["function"] == "wrong"
    assert first["fix"].startswith("use asyncio.gather()")
    assert first["batch_ids"] and all(isinstance(i, int) for i in first["batch_ids"])


def test_strict_mode_calls_back_before_raising_the_same_finding(tmp_path: Path) -> None:
    out, logged = _run(tmp_path, "strict")
    assert [f["rule"] for f in out["collected"]] == ["AW101", "AW101"]  # type: ignore[index,union-attr]
    assert out["raised_is_collected"] == [True, True]
    assert len(logged) == 2


def test_a_failing_callback_is_reported_once_and_the_program_runs_on(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        APP.replace(
            "unregister = asyncwarden.on_finding(collected.append)",
            "def broken(finding):\n    raise RuntimeError('callback bug')\n"
            "asyncwarden.on_finding(broken)\n"
            "unregister = asyncwarden.on_finding(collected.append)",
        )
    )
    result = run_python(str(app), env={"ASYNCWARDEN": "strict"})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [f["rule"] for f in out["collected"]] == ["AW101", "AW101"]
    assert out["raised_is_collected"] == [True, True]  # strict mode still raised, twice
    complaints = [line for line in result.stderr.splitlines() if "on_finding" in line]
    assert complaints == [
        "asyncwarden: the on_finding callback broken raised RuntimeError: callback bug "
        "(shown once; findings go on)"
    ]


def test_readmes_on_finding_block_prints_each_finding_as_a_json_line(tmp_path: Path) -> None:
    pipeline = APP[APP.index("async def part") : APP.index("raised = []")]
    program = "import asyncio\nimport pandas as pd\n" + pipeline + "asyncio.run(wrong())\n"
    code = block("README.md", "import json, sys").text.replace("...", program)
    app = tmp_path / "app.py"
    app.write_text(code)
    result = run_python(str(app), env={"ASYNCWARDEN": "warn"})
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(f["rule"], f["function"]) for f in printed] == [("AW101", "wrong")]
    assert "UnorderedConcatWarning" in result.stderr  # the warning is still shown
