"""The ``asyncwarden`` command: ``run`` a program under the guard, explain the ``rules``, turn
trace files into a ``dashboard``."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from asyncwarden._config import parse_mode
from asyncwarden._environ import MODE_VARIABLE, TRACE_FILE_VARIABLE


def _run(arguments: argparse.Namespace) -> int:
    command = list(arguments.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.stderr.write("asyncwarden run: no command given (asyncwarden run -- python app.py)\n")
        return 2
    environ = dict(os.environ)
    environ[MODE_VARIABLE] = arguments.mode
    if arguments.trace_file:
        environ[TRACE_FILE_VARIABLE] = os.path.abspath(arguments.trace_file)
    executable = shutil.which(command[0]) or command[0]
    if arguments.dashboard:
        return _run_then_draw(executable, command, environ, arguments)
    try:
        os.execvpe(executable, command, environ)
    except OSError as error:
        sys.stderr.write(f"asyncwarden run: cannot run {command[0]!r}: {error.strerror}\n")
        return 127
    return 0  # pragma: no cover - exec does not return


def _run_then_draw(
    executable: str, command: list[str], environ: dict[str, str], arguments: argparse.Namespace
) -> int:
    """Run the command as a child, then draw the traces this run added; exit as the child did."""
    with tempfile.TemporaryDirectory(prefix="asyncwarden-") as folder:
        trace_file = environ.setdefault(TRACE_FILE_VARIABLE, os.path.join(folder, "trace.jsonl"))
        try:
            before = os.path.getsize(trace_file)
        except OSError:
            before = 0
        # The child gets the terminal's Ctrl-C itself; this process waits for it to finish.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            child = subprocess.run([executable, *command[1:]], env=environ, check=False)
        except OSError as error:
            sys.stderr.write(f"asyncwarden run: cannot run {command[0]!r}: {error.strerror}\n")
            return 127
        finally:
            signal.signal(signal.SIGINT, previous)
        status = child.returncode if child.returncode >= 0 else 128 - child.returncode
        # Only what this run appended: a trace file given twice keeps both runs, the picture one.
        os.mkdir(os.path.join(folder, "run"))
        this_run = os.path.join(folder, "run", os.path.basename(trace_file))  # the page names it
        try:
            with open(trace_file, "rb") as source, open(this_run, "wb") as target:
                source.seek(before)
                shutil.copyfileobj(source, target)
        except OSError:
            open(this_run, "wb").close()
        if os.path.getsize(this_run) == 0:
            sys.stderr.write(
                "asyncwarden run: the command ended without a batch or finding to draw; "
                f"{arguments.dashboard} not written\n"
            )
            return status or 1
        drawn = _draw([this_run], arguments.dashboard, "asyncwarden run")
        return status or drawn


def _rules(arguments: argparse.Namespace) -> int:
    from asyncwarden._rules._catalog import RULES

    if arguments.code:
        return _explain(arguments.code)
    for rule in RULES.values():
        print(f"{rule.code}  {rule.name:<22} {rule.summary}")
        if arguments.verbose:
            print(f"        fix: {rule.fix}")
            print(f"        warning: asyncwarden.{rule.category.__name__}")
    return 0


def _explain(code: str) -> int:
    from asyncwarden._rules._texts import RuleDocsError, section

    try:
        print(section(code))
    except RuleDocsError as error:
        sys.stderr.write(f"asyncwarden rules: {error}\n")
        return 2
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("asyncwarden")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from asyncwarden import __version__

        return __version__


def _dashboard(arguments: argparse.Namespace) -> int:
    return _draw(arguments.traces, arguments.output, "asyncwarden dashboard")


def _draw(traces: Sequence[str], output: str, who: str) -> int:
    from asyncwarden.dashboard import TraceFileError, write_report

    try:
        summary = write_report(traces, output)
    except TraceFileError as error:
        sys.stderr.write(f"{who}: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"{who}: cannot write {output}: {error.strerror}\n")
        return 1
    findings = ", ".join(f"{code} x{n}" for code, n in summary["byRule"].items()) or "no findings"
    print(
        f"wrote {output}: {_count(summary['batches'], 'batch', 'batches')}, "
        f"{_count(summary['tasks'], 'task', 'tasks')}, "
        f"{summary['combines']} concat/merge/join, {findings}"
    )
    return 0


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _mode(value: str) -> str:
    try:
        return parse_mode(value, "--mode").value
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="asyncwarden", description="A runtime guard for asyncio + pandas pipelines."
    )
    top.add_argument("--version", action="version", version=f"asyncwarden {_version()}")
    commands = top.add_subparsers(dest="subcommand", required=True)
    run = commands.add_parser("run", help="run a command with the guard on")
    run.add_argument("--mode", type=_mode, default="warn", help="warn (default) or strict")
    run.add_argument(
        "--trace-file",
        metavar="PATH",
        help=f"write traces and metrics to PATH (sets {TRACE_FILE_VARIABLE})",
    )
    run.add_argument(
        "--dashboard",
        metavar="OUT.html",
        help="when the command ends, write the HTML dashboard of its traces to OUT.html",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    run.set_defaults(handler=_run)
    rules = commands.add_parser(
        "rules", help="list the rule catalog, or explain one rule with wrong and right code"
    )
    rules.add_argument("code", nargs="?", help="a rule code, e.g. AW101")
    rules.add_argument("-v", "--verbose", action="store_true", help="show fixes and categories")
    rules.set_defaults(handler=_rules)
    dashboard = commands.add_parser(
        "dashboard", help="write a self-contained HTML report from OTLP/JSON trace files"
    )
    dashboard.add_argument("traces", nargs="+", metavar="TRACE", help="OTLP/JSON trace file")
    dashboard.add_argument(
        "-o", "--output", default="asyncwarden-report.html", help="HTML file to write"
    )
    dashboard.set_defaults(handler=_dashboard)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return int(arguments.handler(arguments))
    except BrokenPipeError:  # `asyncwarden rules AW101 | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
