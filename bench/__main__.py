"""`python -m bench` runs the storage benchmarks (the only benchmark so far); see bench/storage.py."""
from __future__ import annotations

from bench.storage import main

if __name__ == "__main__":
    raise SystemExit(main())
