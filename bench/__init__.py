"""Benchmarks (``python -m bench``, ``make bench``): each builds its own fresh database."""
