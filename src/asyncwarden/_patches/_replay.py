"""A one-shot iterable the guard has read, handed back to the library as reading went.

asyncio's ``wait()``/``as_completed()`` and pandas' ``concat()`` read a generator once; the guard
must read it first to know the inputs. The library then gets this replay: the same items, then
the same error where reading had failed, or the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class Replay(Iterator[Any]):
    """The items read, then the error reading raised (if any), exactly once."""

    def __init__(self, items: list[Any], error: BaseException | None) -> None:
        self._items = iter(items)
        self._error = error
        self.failed = error is not None

    def __next__(self) -> Any:
        for item in self._items:
            return item
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration
