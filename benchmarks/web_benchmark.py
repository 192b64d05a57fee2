"""Web app latency under load: 20 concurrent signed-in users on loopback.

Starts `joinedup serve` on a warehouse (default the demo economy in joinedup-data/)
with a throwaway programme store (demo partnership and demo users loaded), warms the
pages once (the first view of a measure computes it; that is not what a user waits for
afterwards), then runs the load generator in a child process: ``--users`` asyncio
tasks, each with its own session, cycling through the pages for ``--seconds``. Reports
per-page p50/p95/max latency and throughput; the server's peak RSS comes from
/proc/PID/status (VmHWM), the load generator's time and memory from run_measured.

    .venv/bin/python benchmarks/web_benchmark.py
    .venv/bin/python benchmarks/web_benchmark.py --warehouse PATH/warehouse.duckdb --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from results import run_measured, write_section  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "benchmark-password-1"
PAGES = [
    "/overview",
    "/measures",
    "/measures/emergency_admissions",
    "/measures/emergency_admissions/spc.svg",
    "/measures/emergency_readmissions_30d",
    "/programme/workstreams",
    "/api/measures/emergency_admissions?by=practice",
    "/casefinding",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _session(client, base: str) -> str:
    """Sign in through the form; return the session cookie header value."""
    page = await client.get(f"{base}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(
        f"{base}/login",
        data={"username": "demo-analyst", "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": f"joinedup_login_csrf={token}"},
    )
    # The cookie is Secure: an HTTP client will not replay it over http://, so send it.
    cookie = r.cookies.get("joinedup_session")
    if r.status_code != 303 or not cookie:
        raise RuntimeError(f"sign-in failed: {r.status_code}")
    return f"joinedup_session={cookie}"


async def _load(base: str, users: int, seconds: float) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=users)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        cookies = [await _session(client, base) for _ in range(users)]
        for page in PAGES:  # warm-up, untimed
            r = await client.get(base + page, headers={"Cookie": cookies[0]})
            r.raise_for_status()
        timings: dict[str, list[float]] = {p: [] for p in PAGES}
        errors = 0
        stop = time.perf_counter() + seconds

        async def user(i: int) -> None:
            nonlocal errors
            n = i
            while time.perf_counter() < stop:
                page = PAGES[n % len(PAGES)]
                n += 1
                t = time.perf_counter()
                r = await client.get(base + page, headers={"Cookie": cookies[i]})
                timings[page].append(time.perf_counter() - t)
                errors += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - start
    return {"timings": timings, "errors": errors, "elapsed": elapsed}


def _p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def load_child(base: str, users: int, seconds: float) -> None:
    """Child process: run the load and print the raw timings as JSON."""
    print(json.dumps(asyncio.run(_load(base, users, seconds))))


def _vm_hwm_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default=str(ROOT / "joinedup-data" / "warehouse.duckdb"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave RESULTS.md.")
    parser.add_argument("--load-child", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.load_child:
        load_child(args.load_child, args.users, args.seconds)
        return 0
    warehouse = Path(args.warehouse)
    if not warehouse.exists():
        print(f"no warehouse at {warehouse}: run `joinedup demo` first or pass --warehouse")
        return 1
    joinedup = str(BIN / "joinedup")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/programme.sqlite"
        subprocess.run([joinedup, "programme", "demo", "--db", db], check=True, capture_output=True)
        subprocess.run(
            [
                joinedup,
                "users",
                "demo",
                "--warehouse",
                str(warehouse),
                "--programme-db",
                db,
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        port = _free_port()
        server = subprocess.Popen(
            [
                joinedup,
                "serve",
                "--port",
                str(port),
                "--warehouse",
                str(warehouse),
                "--programme-db",
                db,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        raise RuntimeError(server.stderr.read().decode()[-2000:]) from None
                    time.sleep(0.1)
            cmd = [
                sys.executable,
                __file__,
                "--load-child",
                base,
                "--users",
                str(args.users),
                "--seconds",
                str(args.seconds),
            ]
            try:
                wall, load_rss, out = run_measured(cmd)
            except RuntimeError as failed:  # say what the server said
                server.terminate()
                said = server.communicate(timeout=30)[1].decode()[-3000:]
                raise RuntimeError(f"{failed}\nserver:\n{said}") from None
            server_rss = _vm_hwm_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = json.loads(out)
    rows = ["| page | requests | p50 ms | p95 ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"]
    every: list[float] = []
    for page, values in result["timings"].items():
        every += values
        rows.append(
            f"| `{page}` | {len(values)} | {_p(values, 50) * 1000:.0f} | "
            f"{_p(values, 95) * 1000:.0f} | {max(values) * 1000:.0f} |"
        )
    rows.append(
        f"| **all pages** | {len(every)} | {_p(every, 50) * 1000:.0f} | "
        f"**{_p(every, 95) * 1000:.0f}** | {max(every) * 1000:.0f} |"
    )
    load = os.getloadavg()[0]
    people = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb,sys; print(duckdb.connect(sys.argv[1], read_only=True)"
            ".execute('select count(*) from person').fetchone()[0])",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    body = "\n".join(
        [
            f"{args.users} concurrent signed-in users (analyst role) on loopback for "
            f"{args.seconds:.0f} s, cycling through {len(PAGES)} pages, after one untimed "
            f"warm-up pass; economy of {int(people):,} people. Server: `joinedup serve` "
            f"(one uvicorn worker).",
            "",
            *rows,
            "",
            f"Throughput {len(every) / result['elapsed']:.1f} requests/s; non-200 answers: "
            f"{result['errors']}. Server peak RSS {server_rss:,.0f} MiB; load generator "
            f"{wall:.1f} s wall, {load_rss:,.0f} MiB peak RSS. Load average (1 min) at the "
            f"end of the run: {load:.1f} on {os.cpu_count()} cores (other jobs on the machine "
            "add to the latency).",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("Web app latency under load", body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
