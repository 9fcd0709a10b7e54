"""The IPython extension (``%load_ext asyncwarden``); exports ``load_ipython_extension`` and
``unload_ipython_extension``, which ``asyncwarden`` makes reachable under its own name without
importing IPython until they are called."""

from asyncwarden._notebook._extension import load_ipython_extension, unload_ipython_extension

__all__ = ["load_ipython_extension", "unload_ipython_extension"]
