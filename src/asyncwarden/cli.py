"""The ``asyncwarden`` command: ``run`` a program under the guard, list ``rules``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence

from asyncwarden._config import parse_mode
from asyncwarden._environ import MODE_VARIABLE


def _run(arguments: argparse.Namespace) -> int:
    command = list(arguments.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.stderr.write("asyncwarden run: no command given (asyncwarden run -- python app.py)\n")
        return 2
    environ = dict(os.environ)
    environ[MODE_VARIABLE] = arguments.mode
    executable = shutil.which(command[0]) or command[0]
    try:
        os.execvpe(executable, command, environ)
    except OSError as error:
        sys.stderr.write(f"asyncwarden run: cannot run {command[0]!r}: {error.strerror}\n")
        return 127
    return 0  # pragma: no cover - exec does not return


def _rules(arguments: argparse.Namespace) -> int:
    from asyncwarden._rules._catalog import RULES

    for rule in RULES.values():
        print(f"{rule.code}  {rule.name:<22} {rule.summary}")
        if arguments.verbose:
            print(f"        fix: {rule.fix}")
            print(f"        warning: asyncwarden.{rule.category.__name__}")
    return 0


def _dashboard(arguments: argparse.Namespace) -> int:
    from asyncwarden.dashboard import TraceFileError, write_report

    try:
        summary = write_report(arguments.traces, arguments.output)
    except TraceFileError as error:
        sys.stderr.write(f"asyncwarden dashboard: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(
            f"asyncwarden dashboard: cannot write {arguments.output}: {error.strerror}\n"
        )
        return 1
    findings = ", ".join(f"{code} x{n}" for code, n in summary["byRule"].items()) or "no findings"
    print(
        f"wrote {arguments.output}: {summary['batches']} batches, {summary['tasks']} tasks, "
        f"{summary['combines']} concat/merge/join, {findings}"
    )
    return 0


def _mode(value: str) -> str:
    try:
        return parse_mode(value, "--mode").value
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="asyncwarden", description="A runtime guard for asyncio + pandas pipelines."
    )
    commands = top.add_subparsers(dest="subcommand", required=True)
    run = commands.add_parser("run", help="run a command with the guard on")
    run.add_argument("--mode", type=_mode, default="warn", help="warn (default) or strict")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    run.set_defaults(handler=_run)
    rules = commands.add_parser("rules", help="list the rule catalog")
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
    return int(arguments.handler(arguments))
