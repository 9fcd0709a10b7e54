"""Calls for which asyncio itself emits a warning, run as a user's script: ``python THIS CASE``.

Prints one JSON line: what the calls returned (or raised) and every warning with the file and
line it is attributed to. Standard library only; run with and without the guard and compared.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import warnings

shown: list[tuple[str, str, str, int]] = []


def _show(message: object, category: type, filename: str, lineno: int, *_: object) -> None:
    shown.append((category.__name__, str(message)[:80], os.path.basename(filename), lineno))


async def value(i: int) -> int:
    await asyncio.sleep(0)
    return i


def no_loop_gather() -> object:
    # 3.12+: "There is no current event loop", attached to the first frame outside asyncio.
    outer = asyncio.gather(value(1), value(2))
    return asyncio.get_event_loop().run_until_complete(outer)


def no_loop_gather_empty() -> object:
    return asyncio.gather().result()


def no_loop_as_completed() -> object:
    steps = asyncio.as_completed([value(3)])
    return [asyncio.get_event_loop().run_until_complete(step) for step in steps]


def wait_coroutines() -> object:
    # 3.10: "The explicit passing of coroutine objects to asyncio.wait() is deprecated",
    # stacklevel=2; 3.11+: TypeError.
    async def main() -> object:
        done, pending = await asyncio.wait([value(4), value(5)])
        more, _ = await asyncio.wait(iter([value(6)]), timeout=5)
        return sorted(t.result() for t in done | more), type(done).__name__, len(pending)

    return asyncio.run(main())


def wait_rejected() -> object:
    async def main() -> list[str]:
        out = []
        for bad in ([], None, value(7)):
            try:
                await asyncio.wait(bad)  # type: ignore[arg-type]
            except (TypeError, ValueError) as error:
                out.append(f"{type(error).__name__}: {error}")
        return out

    return asyncio.run(main())


def unawaited_wait() -> object:
    # "RuntimeWarning: coroutine 'wait' was never awaited" names asyncio's coroutine.
    async def main() -> object:
        task = asyncio.ensure_future(value(8))
        waiting, timed = asyncio.wait([task]), asyncio.wait_for(task, 5)
        names = (waiting.__qualname__, timed.__qualname__)
        del waiting, timed
        gc.collect()
        return names, await task

    return asyncio.run(main())


CASES = {
    f.__name__: f
    for f in (
        no_loop_gather,
        no_loop_gather_empty,
        no_loop_as_completed,
        wait_coroutines,
        wait_rejected,
        unawaited_wait,
    )
}

if __name__ == "__main__":
    if not sys.warnoptions:
        warnings.simplefilter("always")
    warnings.showwarning = _show  # type: ignore[assignment]
    case = CASES[sys.argv[1]]
    try:
        result: object = case()
    except BaseException as error:
        result = f"raised {type(error).__name__}: {error}"
    print(json.dumps({"result": repr(result), "warnings": shown}))
