"""Where the lifecycle rules look: asyncio's shutdown path, loop close, destroyed tasks and exit.

Installed with the asyncio patches. The places:

- ``asyncio.runners._cancel_all_tasks`` (``asyncio.run``, ``asyncio.Runner``, and ``uvloop.run``,
  which uses them from 3.11; ``uvloop._cancel_all_tasks`` on 3.10): just before the runner
  cancels what is still pending;
- ``loop.close()`` of asyncio's loops and uvloop's: a loop run by hand, closed with tasks pending;
- ``loop.call_exception_handler``: asyncio's "Task was destroyed but it is pending!", passed on
  unchanged;
- interpreter exit: tasks pending on a loop that was stopped and never closed.

In strict mode nothing is raised inside asyncio's shutdown sequence: ``Runner.close()`` or the
outermost ``loop.close()`` finishes first, then the ``FindingError`` is raised from it.
"""

from __future__ import annotations

import atexit
import sys
import threading
import weakref
from typing import Any

from asyncwarden import _compat, _config
from asyncwarden._failopen import internal_error
from asyncwarden._findings import _held
from asyncwarden._rules import _lifecycle
from asyncwarden._tracking import _task_marks
from asyncwarden._tracking._callsite import add_internal_package

# Loops a runner shut down: their close() is part of the same shutdown.
_shut_down: weakref.WeakSet[Any] = weakref.WeakSet()
_local = threading.local()
_install_lock = threading.RLock()
_exit_registered = False


def _cancel_all_tasks(
    wrapped: Any, instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    try:
        loop = args[0] if args else kwargs.get("loop")
        _shut_down.add(loop)
        _lifecycle.check_pending(
            loop,
            "at asyncio.run() shutdown, which cancels {them} now",
            "shutdown",
        )
    except Exception as error:
        internal_error("lifecycle: runner shutdown", error)
    return wrapped(*args, **kwargs)


def _runner_close(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    loop = getattr(instance, "_loop", None)
    _local.runner = getattr(_local, "runner", 0) + 1
    try:
        result = wrapped(*args, **kwargs)
    finally:
        _local.runner -= 1
    if loop is not None and (held := _held.take_held(loop)) is not None:
        raise held
    return result


def _loop_close(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # asyncio's loop classes call super().close(): only the outermost close checks and raises,
    # after every level has finished closing.
    depth = getattr(_local, "close", 0)
    if depth == 0:
        try:
            # A loop a runner shut down was checked just before its tasks were cancelled.
            if (
                instance not in _shut_down
                and not instance.is_running()
                and not instance.is_closed()
            ):
                _lifecycle.check_pending(
                    instance,
                    "when the loop was closed: nothing will ever run {them} again",
                    "loop.close()",
                )
        except Exception as error:
            internal_error("lifecycle: loop.close", error)
    _local.close = depth + 1
    try:
        result = wrapped(*args, **kwargs)
    finally:
        _local.close = depth
    if depth == 0 and not getattr(_local, "runner", 0):
        held = _held.take_held(instance)
        if held is not None:
            raise held
    return result


def _call_exception_handler(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    result = wrapped(*args, **kwargs)
    try:
        context = args[0] if args else kwargs.get("context")
        if (
            isinstance(context, dict)
            and context.get("message") == _lifecycle.DESTROYED_PENDING
            and not sys.is_finalizing()
        ):
            _lifecycle.destroyed(instance, context.get("task"))
    except Exception as error:
        internal_error("lifecycle: task destroyed", error)
    return result


def _at_exit() -> None:
    if not _config.CONFIG.installed:
        return
    try:
        loops: dict[int, Any] = {}
        for task in _compat.registered_tasks():
            if not task.done():
                loop = task.get_loop()
                loops.setdefault(id(loop), loop)
        for loop in loops.values():
            if not loop.is_closed() and not loop.is_running():
                _lifecycle.check_pending(
                    loop,
                    "at interpreter exit, on a loop that was never closed",
                    "exit",
                )
    except Exception as error:
        internal_error("lifecycle: interpreter exit", error)
    _held.flush_at_exit()


def _asyncio_loop_classes() -> list[type]:
    """asyncio's loop classes that define ``close`` themselves (each calls super().close())."""
    from asyncio import base_events

    found: list[type] = []
    todo: list[type] = [base_events.BaseEventLoop]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("asyncio.") and "close" in vars(cls):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def install() -> None:
    """Hook asyncio's shutdown path, loop close, destroyed tasks, wait()'s pending set and exit."""
    global _exit_registered
    from asyncio import base_events, runners

    from asyncwarden import _observers
    from asyncwarden._patches._wrapping import patch

    patch((runners,), "_cancel_all_tasks", _cancel_all_tasks)
    if _compat.PY_3_11_PLUS:
        patch((runners.Runner,), "close", _runner_close)  # type: ignore[attr-defined]
    for cls in _asyncio_loop_classes():
        patch((cls,), "close", _loop_close)
    patch((base_events.BaseEventLoop,), "call_exception_handler", _call_exception_handler)
    with _install_lock:
        if _lifecycle.on_wait_pending not in _observers.on_wait_pending:
            _observers.on_wait_pending.append(_lifecycle.on_wait_pending)
        if _lifecycle.on_batch_started not in _observers.on_batch_started:
            _observers.on_batch_started.append(_lifecycle.on_batch_started)
        if not _exit_registered:
            _exit_registered = True
            atexit.register(_at_exit)
            # One hook per module for the process: it does nothing while the guard is off.
            import wrapt

            for name, hook in _OPTIONAL_MODULES.items():
                wrapt.register_post_import_hook(hook, name)
            return  # wrapt ran them already for modules imported before
    for name, hook in _OPTIONAL_MODULES.items():
        module = sys.modules.get(name)
        if module is not None:
            hook(module, installing=True)


def _guard_is_on(installing: bool) -> bool:
    # Called by install() itself, the guard is being switched on; called by wrapt when the module
    # is imported later, ask. (Asking during install() can read another copy of _config when
    # a test runner re-imported the package, and would then skip the patch.)
    if installing:
        return True
    return _config.CONFIG.installed


def _install_uvloop(module: Any, installing: bool = False) -> None:
    from asyncwarden._patches._wrapping import patch, patch_inherited

    if not _guard_is_on(installing):
        return
    try:
        add_internal_package(module.__file__)
        _task_marks.add_library(module.__file__)
        if hasattr(module, "_cancel_all_tasks"):
            patch((module,), "_cancel_all_tasks", _cancel_all_tasks)
        patch_inherited(module.Loop, "close", _loop_close)
        patch_inherited(module.Loop, "call_exception_handler", _call_exception_handler)
    except Exception as error:
        internal_error("patching uvloop", error)


def _install_runner_backport(module: Any, installing: bool = False) -> None:
    """``backports.asyncio.runner`` (pytest-asyncio's Runner on 3.10): a copy of 3.11's."""
    from asyncwarden._patches._wrapping import patch

    if not _guard_is_on(installing):
        return
    try:
        patch((module,), "_cancel_all_tasks", _cancel_all_tasks)
        patch((module.Runner,), "close", _runner_close)
    except Exception as error:
        internal_error("patching backports.asyncio.runner", error)


_OPTIONAL_MODULES = {
    "uvloop": _install_uvloop,
    "backports.asyncio.runner.runner": _install_runner_backport,
}
