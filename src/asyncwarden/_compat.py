"""Every interpreter-version branch in one place, so the rest of the code reads straight."""

from __future__ import annotations

import sys

PY_3_11_PLUS = sys.version_info >= (3, 11)
PY_3_12_PLUS = sys.version_info >= (3, 12)
PY_3_13_PLUS = sys.version_info >= (3, 13)

# 3.10's asyncio.wait and as_completed accept bare coroutines and wrap them in tasks themselves.
WAIT_ACCEPTS_COROUTINES = not PY_3_11_PLUS

# 3.13 turned as_completed from a generator function into an iterator class.
AS_COMPLETED_IS_GENERATOR = not PY_3_13_PLUS
