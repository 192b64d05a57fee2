"""Web app latency: the first view of each page after a refresh, then 20 users at once.

On a warehouse (default the demo economy in joinedup-data/), with a throwaway programme
store (demo partnership and demo users loaded):

1. the refresh: `joinedup publish` computes every published figure (timed);
2. `joinedup serve` starts, and each page is fetched once in turn: the first view after
   the refresh, what the first visitor waits for;
3. the load: ``--users`` signed-in users at once, each cycling through the pages for
   ``--seconds`` (a child process of asyncio tasks), after one untimed pass.

Reports p50/p95/max latency per page, throughput, the server's peak RSS (VmHWM). With
``--baseline-src DIR`` the same load also runs against a server started from another
source tree (e.g. a checkout of the previous version: ``git worktree add /tmp/old
HEAD~1``), side by side; that server computes figures per request as it always did.

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
    "/population",
    "/opportunity",
    "/practices/{practice}",
    "/programme/workstreams",
    "/api/measures/emergency_admissions?by=practice",
    "/api/overview",
    "/casefinding",
]
#: The goals the pages are held to (issue 20): under load, and the first view.
P95_GOAL_MS, FIRST_VIEW_GOAL_S = 300, 2.0


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


async def _first_views(base: str, pages: list[str]) -> dict:
    """Each page fetched once, one after another, by one signed-in user."""
    import httpx

    async with httpx.AsyncClient(timeout=300) as client:
        cookie = await _session(client, base)
        out = {}
        for page in pages:
            t = time.perf_counter()
            r = await client.get(base + page, headers={"Cookie": cookie})
            out[page] = {"seconds": time.perf_counter() - t, "status": r.status_code}
    return out


async def _load(base: str, pages: list[str], users: int, seconds: float) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=users)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        cookies = [await _session(client, base) for _ in range(users)]
        for page in pages:  # warm-up, untimed
            r = await client.get(base + page, headers={"Cookie": cookies[0]})
            r.raise_for_status()
        timings: dict[str, list[float]] = {p: [] for p in pages}
        errors = 0
        stop = time.perf_counter() + seconds

        async def user(i: int) -> None:
            nonlocal errors
            n = i
            while time.perf_counter() < stop:
                page = pages[n % len(pages)]
                n += 1
                t = time.perf_counter()
                r = await client.get(base + page, headers={"Cookie": cookies[i]})
                timings[page].append(time.perf_counter() - t)
                errors += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.perf_counter() - start
    return {"timings": timings, "errors": errors, "elapsed": elapsed}


def _p(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def child(mode: str, base: str, pages: list[str], users: int, seconds: float) -> None:
    """Child process: run the first views or the load; print the raw timings as JSON."""
    if mode == "first":
        print(json.dumps(asyncio.run(_first_views(base, pages))))
    else:
        print(json.dumps(asyncio.run(_load(base, pages, users, seconds))))


def _vm_hwm_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024


def _joinedup(src: Path | None) -> tuple[list[str], dict[str, str]]:
    """The command that runs `joinedup` (from ``src`` when given) and its environment."""
    if src is None:
        return [str(BIN / "joinedup")], {}
    env = {"PYTHONPATH": str(Path(src).resolve())}
    return [sys.executable, "-c", "from joinedup.cli import main; main()"], env


def _serve(warehouse: Path, db: str, src: Path | None):
    """Start `joinedup serve`; return (process, base URL) once it listens."""
    command, env = _joinedup(src)
    port = _free_port()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--warehouse", str(warehouse),
         "--programme-db", db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )  # fmt: skip
    for _ in range(1200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(server.stderr.read().decode()[-2000:]) from None
            time.sleep(0.1)
    raise RuntimeError("the server did not start listening in two minutes")


def _child(mode: str, base: str, pages: list[str], args) -> tuple[dict, float, float]:
    cmd = [sys.executable, __file__, "--child", mode, base, "--users", str(args.users),
           "--seconds", str(args.seconds), "--pages", json.dumps(pages)]  # fmt: skip
    wall, rss, out = run_measured(cmd)
    return json.loads(out), wall, rss


def _run(warehouse: Path, pages: list[str], args, src: Path | None, first: bool) -> dict:
    """One server (this code, or ``src``): its first views (``first``) and the load."""
    command, env = _joinedup(src)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/programme.sqlite"
        subprocess.run([*command, "programme", "demo", "--db", db], check=True,
                       capture_output=True, env={**os.environ, **env})  # fmt: skip
        subprocess.run(
            [*command, "users", "demo", "--warehouse", str(warehouse), "--programme-db", db,
             "--password-stdin"],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
            env={**os.environ, **env},
        )  # fmt: skip
        server, base = _serve(warehouse, db, src)
        try:
            views = _child("first", base, pages, args)[0] if first else None
            load, wall, _rss = _child("load", base, pages, args)
            server_rss = _vm_hwm_mib(server.pid)
        except RuntimeError as failed:  # say what the server said
            server.terminate()
            said = server.communicate(timeout=30)[1].decode()[-3000:]
            raise RuntimeError(f"{failed}\nserver:\n{said}") from None
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"first": views, "load": load, "server_rss": server_rss, "load_wall": wall}


def _practice(warehouse: Path) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT min(practice_code) FROM practice").fetchone()[0]


def _people(warehouse: Path) -> int:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT count(*) FROM person").fetchone()[0]


def _table(name: str, result: dict) -> tuple[list[str], float]:
    rows = [f"| `{p}` | {len(v)} | {_p(v, 50) * 1000:.0f} | {_p(v, 95) * 1000:.0f} | "
            f"{max(v) * 1000:.0f} |" for p, v in result["load"]["timings"].items()]  # fmt: skip
    every = [t for v in result["load"]["timings"].values() for t in v]
    p95 = _p(every, 95) * 1000
    rows.append(
        f"| **all pages** | {len(every)} | {_p(every, 50) * 1000:.0f} | **{p95:.0f}** | "
        f"{max(every) * 1000:.0f} |"
    )
    rate = len(every) / result["load"]["elapsed"]
    head = ["| page | requests | p50 ms | p95 ms | max ms |", "| --- | ---: | ---: | ---: | ---: |"]
    text = [
        f"**{name}**: throughput {rate:.1f} requests/s, non-200 answers "
        f"{result['load']['errors']}, server peak RSS {result['server_rss']:,.0f} MiB.",
        "",
        *head,
        *rows,
    ]
    return text, max(_p(v, 95) * 1000 for v in result["load"]["timings"].values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default=str(ROOT / "joinedup-data" / "warehouse.duckdb"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--baseline-src", type=Path, help="Also load a server from this src/.")
    parser.add_argument("--no-write", action="store_true", help="Print only; leave RESULTS.md.")
    parser.add_argument(
        "--no-refresh", action="store_true", help="Keep the figures already published."
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--pages", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.child:
        child(args.child[0], args.child[1], json.loads(args.pages), args.users, args.seconds)
        return 0
    warehouse = Path(args.warehouse)
    if not warehouse.exists():
        print(f"no warehouse at {warehouse}: run `joinedup demo` first or pass --warehouse")
        return 1
    pages = [p.format(practice=_practice(warehouse)) for p in PAGES]
    # 1. The refresh: every published figure computed afresh.
    if not args.no_refresh:
        for suffix in (".published", ".measure-cache"):
            subprocess.run(["rm", "-rf", f"{warehouse}{suffix}"], check=True)
    refresh, refresh_rss, _ = run_measured(
        [str(BIN / "joinedup"), "publish", "--warehouse", str(warehouse)]
    )
    # 2 and 3. This code's server: first views, then the load.
    now = _run(warehouse, pages, args, None, first=True)
    before = _run(warehouse, pages, args, args.baseline_src, False) if args.baseline_src else None
    first = now["first"]
    slowest = max(v["seconds"] for v in first.values())
    view_rows = [
        f"| `{p}` | {v['seconds'] * 1000:,.0f} | {v['status']} |" for p, v in first.items()
    ]
    table, worst_p95 = _table("This version", now)
    body = [
        f"Economy of {_people(warehouse):,} people ever registered. The refresh (`joinedup "
        "publish`, every "
        f"figure computed afresh: measures by every grouping, headline, inequalities, "
        f"segments, opportunities, practice profiles, the plan scenario) took {refresh:.0f} s "
        f"wall, {refresh_rss:,.0f} MiB peak.",
        "",
        "First view of each page after the refresh (a new server, one signed-in user, pages "
        "fetched one after another; goal: under "
        f"{FIRST_VIEW_GOAL_S:.0f} s each, slowest here {slowest:.2f} s):",
        "",
        "| page | first view ms | status |",
        "| --- | ---: | ---: |",
        *view_rows,
        "",
        f"Then {args.users} concurrent signed-in users (analyst role) on loopback for "
        f"{args.seconds:.0f} s, cycling through the {len(pages)} pages after one untimed pass; "
        f"server `joinedup serve` (one uvicorn worker). Goal: p95 under {P95_GOAL_MS} ms for "
        f"every page (slowest page's p95 here {worst_p95:.0f} ms).",
        "",
        *table,
    ]
    if before is not None:
        old_table, old_p95 = _table("Previous version (figures computed per request)", before)
        body += ["", *old_table, "", f"Slowest page's p95 before: {old_p95:.0f} ms."]
    load = os.getloadavg()[0]
    body += [
        "",
        f"Load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores (other jobs "
        "on the machine add to the latency).",
    ]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        # The command as run, without this machine's paths.
        command = "python benchmarks/web_benchmark.py" + (
            " --baseline-src OLD/src (OLD: a git worktree of the version compared)"
            if args.baseline_src
            else ""
        )
        write_section("Web app latency under load", text, command)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
