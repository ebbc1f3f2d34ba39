"""Benchmarks: each module is one runnable measurement (``python -m bench.<name>``); see README."""
