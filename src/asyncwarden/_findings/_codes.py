"""What each rule code stands for: its name, summary, warning category and fix.

The findings layer reads it (delivery shows a finding as its code's warning category; allow()
accepts only these codes), the rules write their findings' names and fixes from it, and
``_rules/_catalog`` adds each combination rule's check to make the public ``RULES``. Adding a
rule adds its entry here (and, for a new warning category, one in ``exceptions.py``).
"""

from __future__ import annotations

from typing import NamedTuple

from asyncwarden import exceptions


class Code(NamedTuple):
    name: str
    summary: str
    category: type[exceptions.AsyncWardenWarning]
    fix: str


CODES: dict[str, Code] = {
    "AW101": Code(
        "unordered-concat",
        "frames from an unordered collection (wait()'s sets, as_completed()) are combined "
        "in an order that is not their submission order",
        exceptions.UnorderedConcatWarning,
        "use asyncio.gather(), which keeps input order; or keep {input: task} and read "
        "results by input (results = [tasks[i].result() for i in inputs]); or pass keys=",
    ),
    "AW102": Code(
        "merge-fanout",
        "a merge or join on index labels or keys that collide because of how task results "
        "were combined, so rows are multiplied or lost",
        exceptions.MergeFanoutWarning,
        "concat partitions with ignore_index=True (or keys=...) before joining on the index, "
        "and never concatenate a partition twice; validate='one_to_one' makes merge check it",
    ),
    "AW201": Code(
        "incomplete-batch",
        "results of a batch are combined while some members failed, were cancelled or are "
        "still pending, and nothing acknowledges it",
        exceptions.IncompleteBatchWarning,
        "raise on failure (gather without return_exceptions, or TaskGroup), retry the "
        "missing partitions, or say it is intended: with asyncwarden.allow('AW201'): ...",
    ),
    "AW301": Code(
        "pending-at-shutdown",
        "tasks still pending when the event loop shuts down are cancelled (or destroyed) silently",
        exceptions.PendingAtShutdownWarning,
        "cancel the tasks and await them (await asyncio.gather(*tasks, return_exceptions="
        "True)), use asyncio.TaskGroup, or mark a daemon task with asyncwarden.allow_pending()",
    ),
    "AW302": Code(
        "abandoned-pending",
        "tasks wait() returned in pending were neither awaited nor cancelled by the time the "
        "caller finished (an executor's not_done futures: by the time the executor shut down)",
        exceptions.AbandonedPendingWarning,
        "for t in pending: t.cancel(); then await asyncio.gather(*pending, "
        "return_exceptions=True); or use asyncio.timeout() around a TaskGroup",
    ),
    "AW303": Code(
        "cancelled-not-awaited",
        "a task's cancellation was requested but never awaited, so its cleanup runs later "
        "or not at all",
        exceptions.CancelledNotAwaitedWarning,
        "after task.cancel(), await it (with contextlib.suppress(asyncio.CancelledError): "
        "await task) or await asyncio.gather(*cancelled, return_exceptions=True)",
    ),
}


# The fix in the words of the library whose batch it is, where asyncio's would not apply.
LIBRARY_FIXES: dict[tuple[str, str], str] = {
    ("AW101", "concurrent.futures"): (
        "use Executor.map(), which keeps input order; or keep the futures in input order and "
        "read them back (frames = [f.result() for f in futures]); or pass keys="
    ),
    ("AW101", "distributed"): (
        "use client.gather(futures), which keeps input order; or keep {input: future} and read "
        "results by input; or pass keys="
    ),
    ("AW201", "concurrent.futures"): (
        "read every future's result() (a failure raises), wait for the not_done futures, or say "
        "it is intended: with asyncwarden.allow('AW201'): ..."
    ),
    ("AW302", "concurrent.futures"): (
        "for f in not_done: f.cancel(), and shut down with cancel_futures=True; or wait for them "
        "(concurrent.futures.wait(not_done)) and read them before the executor shuts down"
    ),
    ("AW201", "distributed"): (
        "client.gather(futures) raises on a failed future; wait for the not_done futures, or say "
        "it is intended: with asyncwarden.allow('AW201'): ..."
    ),
}
