"""Benchmarks: scripts that start the app under gunicorn, load it and print figures.

They are not tests: each one runs for a bounded time against 127.0.0.1 only, prints a table and
exits. Run them from the project root, e.g. `python -m bench.webhook`; results are recorded in
docs/performance.md.
"""
