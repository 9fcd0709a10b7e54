"""Patches: the wrappers around asyncio's and pandas' entry points, and their originals."""
