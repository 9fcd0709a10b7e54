"""``%load_ext asyncwarden``: the guard in a running IPython kernel or terminal IPython.

A kernel differs from a script in three ways, and each is met here:

- Names were imported before the guard was switched on (``from asyncio import wait``): the
  patches replace module attributes, which such names do not see, so the user's namespace is
  rebound to the patched objects, and back to the originals when the guard goes off.
- Its loop never shuts down: the tasks a cell left behind are reported when the cell ends
  (``_cells``).
- Output belongs to cells: a finding is displayed in the cell that caused it (``_present``), in
  warn mode in place of its warning (so warning filters still decide), in strict mode beside the
  raised error. Each cell run shows its findings again, as each test or run does.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import warnings
from typing import Any

from asyncwarden._activation import _guard
from asyncwarden._config import CONFIG, Mode, Settings, parse_mode
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _delivery
from asyncwarden._notebook import _cells, _present
from asyncwarden._patches import _wrapping
from asyncwarden._rules import _lifecycle
from asyncwarden._tracking import _task_marks
from asyncwarden.exceptions import (
    AsyncWardenWarning,
    ConfigurationError,
    FindingError,
    text_of,
)

MAGIC = "asyncwarden"
USAGE = "%asyncwarden [warn|strict|off]   (%%asyncwarden MODE for one cell)"
_HEADER = re.compile(r"%%asyncwarden[ \t]+([^\s#]+)[ \t]*(#.*)?")

# Packages whose own tasks (the kernel's message loops, IPython's cell runner) are the event
# loop's, not the program's: never reported as pending.
_KERNEL_PACKAGES = ("IPython", "ipykernel", "jupyter_client", "tornado", "zmq", "anyio", "comm")


def _header_mode(raw_cell: str) -> Mode | None:
    """The mode of a cell that starts with ``%%asyncwarden MODE``; None for any other cell."""
    first = next((line for line in raw_cell.splitlines() if line.strip()), "")
    match = _HEADER.fullmatch(first.strip())
    if match is None:
        return None
    try:
        return parse_mode(match.group(1), "%%asyncwarden")
    except ConfigurationError:
        return None  # the cell magic itself says what is wrong


class Extension:
    """What one shell's extension changed, so that unloading puts it all back."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.before: tuple[bool, Settings] = (_guard.is_installed(), CONFIG.settings)
        self.cell: object | None = None  # the running cell's mark (_cells.start)
        self.restore_after_cell: Mode | None = None
        self.local = threading.local()
        self.previous_showwarning: Any = None
        self.unregister: Any = None

    # -- switching --------------------------------------------------------------------------

    def switch(self, mode: Mode) -> None:
        """Set the guard's mode and rebind the user's names to what the modules now hold."""
        if mode is Mode.OFF:
            back = {id(new): (new, old) for old, new in _wrapping.replacements()}
            _guard.uninstall()
            self._rebind(back)
            return
        _guard.install(mode)
        self._rebind({id(old): (old, new) for old, new in _wrapping.replacements()})

    def _rebind(self, swaps: dict[int, tuple[object, object]]) -> None:
        namespace = self.shell.user_ns
        for name, value in list(namespace.items()):
            swap = swaps.get(id(value))
            if swap is not None and swap[0] is value:
                namespace[name] = swap[1]

    # -- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        installed, settings = self.before
        self.switch(settings.mode if installed else Mode.WARN)
        for name in _KERNEL_PACKAGES:
            module = sys.modules.get(name)
            if module is not None:
                _task_marks.add_library(getattr(module, "__file__", None))
        shell = self.shell
        shell.register_magic_function(self.magic, magic_kind="line_cell", magic_name=MAGIC)
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)
        shell.input_transformers_cleanup.append(self.strip_header)
        self.previous_showwarning = warnings.showwarning
        warnings.showwarning = self.showwarning
        self.unregister = _delivery.on_finding(self.on_finding)
        # IPython's hook for an exception's own traceback: a FindingError's ends at the user's
        # line; what follows is the guard's delivery, which says nothing to the user.
        FindingError._render_traceback_ = _present.traceback_lines  # type: ignore[attr-defined]

    def unload(self) -> None:
        shell = self.shell
        if self.unregister is not None:
            self.unregister()
        if "_render_traceback_" in vars(FindingError):
            del FindingError._render_traceback_  # type: ignore[attr-defined]
        if warnings.showwarning == self.showwarning:
            warnings.showwarning = self.previous_showwarning
        for event, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                shell.events.unregister(event, callback)
        if self.strip_header in shell.input_transformers_cleanup:
            shell.input_transformers_cleanup.remove(self.strip_header)
        shell.magics_manager.magics["line"].pop(MAGIC, None)
        shell.magics_manager.magics["cell"].pop(MAGIC, None)
        installed, settings = self.before
        self.switch(settings.mode if installed else Mode.OFF)
        CONFIG.settings = settings

    # -- the magic --------------------------------------------------------------------------

    def magic(self, line: str, cell: str | None = None) -> None:
        """%asyncwarden warn|strict|off switches the guard; %%asyncwarden MODE, for one cell."""
        from IPython.core.error import UsageError

        word = line.split("#", 1)[0].strip()  # IPython hands a magic its comment too
        if not word and cell is None:
            print(f"asyncwarden: {CONFIG.settings.mode.value}")
            return
        try:
            mode = parse_mode(word, "%%asyncwarden" if cell is not None else "%asyncwarden")
        except ConfigurationError as error:
            raise UsageError(f"{error}\nusage: {USAGE}") from None
        if cell is None:
            self.switch(mode)
            return
        # Reached only when the cell transformer did not run (run_cell_magic called directly).
        before = CONFIG.settings.mode
        self.switch(mode)
        try:
            self.shell.ex(cell)
        finally:
            self.switch(before)

    def strip_header(self, lines: list[str]) -> list[str]:
        """``%%asyncwarden MODE`` becomes an empty line: the cell runs as any cell does (top-level
        ``await`` included), with its line numbers, in the mode ``pre_run_cell`` set."""
        if lines and _header_mode(lines[0]) is not None:
            return ["\n", *lines[1:]]
        return lines

    # -- cells ------------------------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        try:
            mode = _header_mode(getattr(info, "raw_cell", "") or "")
            if mode is not None:
                self.restore_after_cell = CONFIG.settings.mode
                self.switch(mode)
            _delivery.forget_shown()
            self.cell = _cells.start()
        except Exception as error:
            internal_error("notebook: cell start", error)

    def post_run_cell(self, result: Any) -> None:
        cell, self.cell = self.cell, None
        try:
            if cell is not None and _guard.is_installed():
                self._left_behind(cell, result)
        except Exception as error:
            internal_error("notebook: cell end", error)
        finally:
            _cells.end()
            restore, self.restore_after_cell = self.restore_after_cell, None
            if restore is not None:
                self.switch(restore)

    def _left_behind(self, cell: object, result: Any) -> None:
        tasks = _cells.left_behind(cell, self.shell)
        if not tasks:
            return
        count = getattr(result, "execution_count", None)
        name = f"cell In[{count}]" if count is not None else "a cell"
        for finding in _lifecycle.left_by_cell(tasks, name):
            try:
                _delivery.deliver(finding)
            except Exception as error:  # strict mode, or a warning the user turned into an error
                self._fail_cell(result, error)

    def _fail_cell(self, result: Any, error: BaseException) -> None:
        """The cell's code has finished: mark its run as failed, as an error raised in it would."""
        if result is None or result.error_before_exec or result.error_in_exec:
            return
        result.error_in_exec = error
        self.shell.showtraceback((type(error), error, None))

    # -- findings ---------------------------------------------------------------------------

    def on_finding(self, finding: Any) -> None:
        self.local.finding = finding
        if CONFIG.strict():
            try:
                _present.show(self.shell, finding, raised=True)
            except Exception as error:
                internal_error("notebook: display", error)

    def showwarning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        """A finding's warning is shown as its block; every other warning as before."""
        finding = getattr(self.local, "finding", None)
        if (
            finding is not None
            and isinstance(message, AsyncWardenWarning)
            and str(message) == text_of(finding)
        ):
            self.local.finding = None
            try:
                _present.show(self.shell, finding)
                return
            except Exception as error:
                internal_error("notebook: display", error)
        self.previous_showwarning(message, category, filename, lineno, file, line)


_loaded: Extension | None = None


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext asyncwarden``: switch the guard on (warn, or the mode it already has)."""
    global _loaded
    if _loaded is not None:
        _loaded.unload()
    extension = Extension(shell)
    try:
        extension.load()
    except Exception as error:  # an IPython without what this needs: one line, then as before
        sys.stderr.write(
            f"asyncwarden: the IPython extension could not load ({type(error).__name__}: "
            f"{error}); it needs IPython 8 or later. The notebook runs on without it.\n"
        )
        with contextlib.suppress(Exception):
            extension.unload()
        return
    _loaded = extension


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext asyncwarden``: put back the guard and everything else as before loading."""
    global _loaded
    extension, _loaded = _loaded, None
    if extension is not None:
        extension.unload()
