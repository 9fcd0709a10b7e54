"""Activation: switching the guard on and off, from the environment or from ``install()``."""
