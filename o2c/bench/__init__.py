"""Benchmarks run by `python manage.py bench NAME [--json PATH]`.

Each module here (o2c/bench/<name>.py) defines `run(*, scale: float) -> list[Figure]` and is a
benchmark name. Benchmarks need PostgreSQL (they refuse SQLite) and build their own data in a
scratch schema-less way: they create rows, measure, and leave the database as they found it
only when they say so in their docstring. Floors from ../shared/PERFORMANCE.md are measured in
the same run and reported beside the figure (`floor`, `ratio`).
"""
