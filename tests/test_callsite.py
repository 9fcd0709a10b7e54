"""Call-site capture: the user's line, found once per line of code and kept by code identity."""

from __future__ import annotations

from typing import Any

from asyncwarden._tracking import _callsite


def test_a_call_site_is_decoded_once_per_line() -> None:
    def here() -> _callsite.CallSite:
        return _callsite.capture(0)

    sites = [here() for _ in range(3)]
    assert sites[0] is sites[1] is sites[2]
    assert sites[0].function.rsplit(".", 1)[-1] == "here"
    assert sites[0].lineno == here.__code__.co_firstlineno + 1
    assert len(_callsite._sites) <= _callsite._SITES_MAX


def test_identical_code_in_two_files_keeps_each_files_name() -> None:
    source = "def load(capture):\n    return capture(0)\n"
    found = []
    for filename in ("/tmp/one/loaders.py", "/tmp/two/loaders.py"):
        namespace: dict[str, Any] = {}
        exec(compile(source, filename, "exec"), namespace)
        found.append(namespace["load"](_callsite.capture))
    assert [site.filename for site in found] == ["/tmp/one/loaders.py", "/tmp/two/loaders.py"]
    assert [site.lineno for site in found] == [2, 2]
