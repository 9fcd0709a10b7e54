"""Stray tasks: ``wait(timeout=...)`` gives up on slow writers, but they go on running.

Four partition writers run under ``asyncio.wait(..., timeout=0.1)``. Two are slow: ``wait()``
returns them in ``pending`` and ``main`` returns without cancelling or awaiting them, so they are
still writing after ``main`` is done, until ``asyncio.run()`` shuts down and cancels them: their
cleanup (removing the half-written file) runs after the program believed it had finished. A
heartbeat task is never stopped at all.

    ASYNCWARDEN=warn python examples/stray_tasks.py          # AW302 for the two writers,
                                                             # AW301 for the heartbeat; exits 0
    ASYNCWARDEN=strict python examples/stray_tasks.py        # fails, after the loop shut down
    ASYNCWARDEN=strict python examples/stray_tasks.py --fixed   # the fix: silent, exits 0
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sys
import tempfile

main_returned = False
background: set[asyncio.Task[None]] = set()


async def write_partition(folder: pathlib.Path, day: int, seconds: float) -> pathlib.Path:
    path = folder / f"day-{day}.csv"
    try:
        with path.open("w") as out:
            out.write("day,revenue\n")
            await asyncio.sleep(seconds)  # a slow upstream
            out.write(f"{day},{100 + day}\n")
    except asyncio.CancelledError:
        path.unlink()
        when = "AFTER main had returned" if main_returned else "before main returned"
        print(f"day-{day}: cancelled, partial file removed {when}")
        raise
    return path


async def heartbeat() -> None:
    while True:
        await asyncio.sleep(0.05)


def start_writers(folder: pathlib.Path) -> list[asyncio.Task[pathlib.Path]]:
    delays = [0.01, 0.01, 5.0, 5.0]
    return [
        asyncio.create_task(write_partition(folder, day, delay), name=f"day-{day}")
        for day, delay in enumerate(delays)
    ]


async def main(folder: pathlib.Path) -> list[str]:
    global main_returned
    background.add(asyncio.create_task(heartbeat(), name="heartbeat"))  # WRONG: never stopped
    tasks = start_writers(folder)
    done, _ = await asyncio.wait(tasks, timeout=0.1)  # WRONG: the pending ones keep writing
    main_returned = True
    return sorted(task.result().name for task in done)


async def main_fixed(folder: pathlib.Path) -> list[str]:
    global main_returned
    beat = asyncio.create_task(heartbeat(), name="heartbeat")
    try:
        tasks = start_writers(folder)
        done, pending = await asyncio.wait(tasks, timeout=0.1)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # their cleanup has run
        return sorted(task.result().name for task in done)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        main_returned = True


if __name__ == "__main__":
    run = main_fixed if "--fixed" in sys.argv[1:] else main
    with tempfile.TemporaryDirectory() as name:
        print("complete partitions:", asyncio.run(run(pathlib.Path(name))))
