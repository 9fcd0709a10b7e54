"""Find the user's line: the first stack frame outside asyncio, asyncwarden, wrapt and pandas."""

from __future__ import annotations

import dataclasses
import os
import sys
from types import CodeType, FrameType

import wrapt

from asyncwarden import _compat


def _package_dir(module_file: str | None) -> str:
    return os.path.dirname(os.path.abspath(module_file or "")) + os.sep


_INTERNAL_PREFIXES: tuple[str, ...] = (
    _package_dir(os.path.dirname(os.path.abspath(__file__))),  # asyncwarden, above _tracking/
    # asyncio's folder, found without importing asyncio (start-up must stay cheap)
    os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "asyncio") + os.sep,
    _package_dir(wrapt.__file__),
)


def add_internal_package(module_file: str | None) -> None:
    """Treat another package's stack frames (pandas, once imported) as library code, not the
    user's."""
    global _INTERNAL_PREFIXES
    prefix = _package_dir(module_file)
    if prefix not in _INTERNAL_PREFIXES:
        _INTERNAL_PREFIXES = (*_INTERNAL_PREFIXES, prefix)


@dataclasses.dataclass(frozen=True, slots=True)
class CallSite:
    """A line of the user's code: where a batch was created, consumed, or combined."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"

    def short(self) -> str:
        """The location relative to the working directory when it lies below it."""
        try:
            relative = os.path.relpath(self.filename)
        except ValueError:  # another drive on Windows
            relative = self.filename
        name = self.filename if relative.startswith("..") else relative
        return f"{name}:{self.lineno}"


UNKNOWN = CallSite("<unknown>", 0, "<unknown>")


def is_internal(filename: str) -> bool:
    # The prefixes are absolute; code objects of imported modules carry absolute paths.
    return filename.startswith(_INTERNAL_PREFIXES)


def user_stack_frame(depth: int = 2) -> FrameType | None:
    """The first stack_frame, from ``depth`` up, whose code is not library code."""
    try:
        stack_frame: FrameType | None = sys._getframe(depth)
    except ValueError:
        return None
    while stack_frame is not None and is_internal(stack_frame.f_code.co_filename):
        stack_frame = stack_frame.f_back
    return stack_frame


# (id of the code object, instruction offset) -> (code, CallSite): a line that runs in a loop is
# decoded and allocated once (f_lineno decodes the line table; a frozen dataclass costs about
# 1 us to make). Keyed by identity, not by the code object itself: code objects compare equal
# across files (co_filename is not compared), and the entry holds its code, so the id cannot be
# reused while the entry exists. Bounded: code made at run time (exec, lambdas in a loop) must not
# grow it forever. It holds code objects, never stack frames or locals.
_SITES_MAX = 4096
_sites: dict[tuple[int, int], tuple[CodeType, CallSite]] = {}


def capture(depth: int = 2) -> CallSite:
    """The user's call site, ``depth`` stack frames above the caller of ``capture``."""
    stack_frame = user_stack_frame(depth + 1)
    if stack_frame is None:
        return UNKNOWN
    code = stack_frame.f_code
    key = (id(code), stack_frame.f_lasti)
    entry = _sites.get(key)
    if entry is not None and entry[0] is code:
        return entry[1]
    site = CallSite(
        code.co_filename,
        stack_frame.f_lineno,
        _compat.qualname(code),
    )
    if len(_sites) >= _SITES_MAX:
        _sites.clear()
    _sites[key] = (code, site)
    return site
