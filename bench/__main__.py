"""``python -m bench``: run the benchmarks and print the table plus one JSON line."""

from bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
