"""Shared by the benchmark scripts: describe the machine and write RESULTS.md sections.

Each benchmark owns one section of benchmarks/RESULTS.md, headed `## <title>`; running
it again replaces that section and leaves the others as they are.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# JOINEDUP_BENCH_RESULTS: another file for a trial run (see run.py).
RESULTS = Path(os.environ.get("JOINEDUP_BENCH_RESULTS") or Path(__file__).with_name("RESULTS.md"))
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in `benchmarks/` (`make bench` runs them all). Each section\n"
    "names the machine, the date and the command that produced it. Ratios compare tools\n"
    "measured side by side in the same run.\n"
)


def machine() -> str:
    """One line describing this machine: CPU model, cores, memory, Python."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``cmd`` in a child process: (wall seconds, the child's peak RSS in MiB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        # wait4 reports this child's own peak memory (RUSAGE_CHILDREN would give the
        # maximum over every child so far).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def write_section(title: str, body: str, command: str | None = None) -> None:
    """Replace (or add) the section ``## title`` of RESULTS.md."""
    command = command or "python " + " ".join(sys.argv)
    section = (
        f"## {title}\n\n"
        f"Measured {date.today().isoformat()} on {machine()}.\n"
        f"Command: `{command}`\n\n{body.strip()}\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
