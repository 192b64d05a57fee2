"""Run every benchmark in this folder (`make bench`), each writing its RESULTS.md section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    """Run each `*_benchmark.py` script in turn; stop at the first failure."""
    scripts = sorted(HERE.glob("*_benchmark.py"))
    for script in scripts:
        print(f"== {script.name}", flush=True)
        code = subprocess.call([sys.executable, str(script), *sys.argv[1:]])
        if code:
            return code
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
