"""The demo (``make demo``): the article's ETL scenario end to end, under the guard.

1. Writes the CSV partitions (one day of sales each) to a new folder.
2. Runs the wrong pipeline (``etl_wrong.py``: ``wait()``, then ``concat`` of the ``done`` set) and
   the two fixed ones (``etl_fixed_gather.py``, ``etl_fixed_wait.py``), each in its own process
   with ``ASYNCWARDEN=warn`` and ``ASYNCWARDEN_TRACE_FILE``, on those partitions.
3. Prints what each run computed and the findings the guard reported.
4. Turns the trace file into the HTML dashboard (``asyncwarden dashboard``) and says where it is.

    python examples/demo.py [--output FOLDER]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PIPELINES = ["etl_wrong", "etl_fixed_gather", "etl_fixed_wait"]
# wait()'s done set is a set: some runs happen to iterate it in submission order, and then the
# wrong pipeline's output is right by luck and there is nothing to report. Run it again.
ATTEMPTS = 5


def run_pipeline(name: str, folder: pathlib.Path) -> None:
    """In the child process: one example's pipeline on the demo's partitions."""
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(name)
    change = asyncio.run(module.main(folder))
    print(f"days in the order they were combined: {list(change.index)}")


def run(
    name: str, partitions: pathlib.Path, trace: pathlib.Path, retry: bool = False
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    if retry:
        # A set of tasks iterates by their addresses, and pymalloc lays them out alike on every
        # run of the same program: a retry only reshuffles on the system allocator.
        environ["PYTHONMALLOC"] = "malloc"
    environ.update(
        ASYNCWARDEN="warn",
        ASYNCWARDEN_TRACE_FILE=str(trace),
        ASYNCWARDEN_TASK_SPANS="on",  # the dashboard's timelines show each task
        OTEL_SERVICE_NAME=name,  # how the dashboard names the run
    )
    return subprocess.run(
        [sys.executable, str(HERE / "demo.py"), "--pipeline", name, str(partitions)],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def show(name: str, result: subprocess.CompletedProcess[str]) -> None:
    print(f"\n$ ASYNCWARDEN=warn python examples/{name}.py")
    for line in (result.stdout + result.stderr).splitlines():
        print(f"  {line}")
    if result.returncode != 0:
        raise SystemExit(f"demo: {name} exited with {result.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=pathlib.Path, help="folder for partitions and results")
    parser.add_argument("--pipeline", help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", type=pathlib.Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.pipeline:
        run_pipeline(arguments.pipeline, arguments.folder)
        return

    output = arguments.output or pathlib.Path(tempfile.mkdtemp(prefix="asyncwarden-demo-"))
    output.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    from _partitions import write_partitions

    partitions = output / "partitions"
    paths = write_partitions(partitions)
    trace = output / "trace.jsonl"
    trace.unlink(missing_ok=True)
    print(f"Wrote {len(paths)} CSV partitions to {partitions}")

    for attempt in range(1, ATTEMPTS + 1):
        result = run("etl_wrong", partitions, trace, retry=attempt > 1)
        show("etl_wrong", result)
        if "AW101" in result.stderr:
            break
        print(f"  (attempt {attempt}: no AW101, the done set came out in order this time; again)")
    for name in PIPELINES[1:]:
        show(name, run(name, partitions, trace))

    report = output / "dashboard.html"
    print(f"\n$ asyncwarden dashboard {trace} -o {report}")
    made = subprocess.run(
        [sys.executable, "-m", "asyncwarden", "dashboard", str(trace), "-o", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"  {(made.stdout + made.stderr).strip()}")
    if made.returncode != 0:
        raise SystemExit(made.returncode)
    print(f"\nTrace file: {trace}")
    print(f"Dashboard:  {report}")
    print(f"Open it in a browser: {report.as_uri()}")


if __name__ == "__main__":
    main()
