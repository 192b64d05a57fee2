"""Every setting of joinedup in one place: its environment variable, default and meaning.

Each setting is a :class:`Setting` in :data:`SETTINGS`, and has one function here that
resolves it: the environment variable's value when it is set (and not empty), else the
default. No other module reads a ``JOINEDUP_`` environment variable, and the command
line's options (``--warehouse``, ``--db``, ``--model``...) resolve a missing value
through these functions, so a default is written once. ``joinedup settings`` shows each
setting's current value; docs/settings.md is generated from this table
(``joinedup settings --markdown``).

Importing this module is cheap: what a function needs beyond the standard library is
imported inside it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

#: The folder of joinedup's own files when no setting says otherwise.
DATA_DIR = Path("joinedup-data")
DEFAULT_WAREHOUSE = DATA_DIR / "warehouse.duckdb"
DEFAULT_KEY_FILE = DATA_DIR / "secrets" / "pseudonymisation.key"
DEFAULT_BACKEND = "duckdb"
LOCAL_SPARK_MASTER = "local[*]"
MiB = 2**20
#: The least memory a load's DuckDB is given (DuckDB's out-of-core operators need a floor).
LEAST_LOAD_MEMORY = 64 * MiB


@dataclass(frozen=True)
class Setting:
    """One setting: ``name``, its environment variable ``env``, the ``default`` in words
    and ``help``, what it does."""

    name: str
    env: str
    default: str
    help: str

    def raw(self) -> str | None:
        """The environment variable's value, or None when it is unset or empty."""
        return os.environ.get(self.env) or None

    def set(self, value: str | None) -> None:
        """Set the setting for this process and the processes it starts (None: unset)."""
        if value is None:
            os.environ.pop(self.env, None)
        else:
            os.environ[self.env] = value


WAREHOUSE = Setting(
    "warehouse",
    "JOINEDUP_WAREHOUSE",
    str(DEFAULT_WAREHOUSE),
    "The warehouse file of a command given no --warehouse. The programme store, risk "
    "model and caches default to places beside it.",
)
BACKEND = Setting(
    "backend",
    "JOINEDUP_BACKEND",
    DEFAULT_BACKEND,
    "The warehouse engine: duckdb or spark. The root option --backend sets it "
    "(joinedup --backend spark ...).",
)
SPARK_MASTER = Setting(
    "spark_master",
    "JOINEDUP_SPARK_MASTER",
    f"{LOCAL_SPARK_MASTER} (local mode, bound to 127.0.0.1)",
    "Where Spark runs: a master URL (spark://host:7077, yarn) or a Spark Connect "
    "endpoint (sc://host:15002).",
)
SPARK_DRIVER_MEMORY = Setting(
    "spark_driver_memory",
    "JOINEDUP_SPARK_DRIVER_MEMORY",
    "Spark's own (1g)",
    "The Spark driver's heap, e.g. 4g: results fetched into Python (such as the risk "
    "model's features) pass through it. Read when the session starts.",
)
PROGRAMME_DB = Setting(
    "programme_db",
    "JOINEDUP_PROGRAMME_DB",
    "programme.sqlite beside the warehouse",
    "The programme store (work programme, users, sessions, audit log): sqlite:///PATH, "
    "a file path or postgresql://...; --db and --programme-db override it.",
)
USER = Setting(
    "user",
    "JOINEDUP_USER",
    "the login name",
    "Who is making a change, for the programme store's change log; --user overrides it.",
)
RISK_MODEL = Setting(
    "risk_model",
    "JOINEDUP_RISK_MODEL",
    "risk-model beside the warehouse",
    "The folder of the trained emergency admission risk model (written by joinedup "
    "risk train, read by scoring, case finding and the web app); --model overrides it.",
)
KEY_FILE = Setting(
    "key_file",
    "JOINEDUP_KEY_FILE",
    str(DEFAULT_KEY_FILE),
    "The pseudonymisation key (created, mode 0600, if absent); keep it outside the "
    "warehouse. --key-file overrides it.",
)
MEASURES = Setting(
    "measures",
    "JOINEDUP_MEASURES",
    "none (the built-in library only)",
    "Extra measure definition YAML files added to the built-in library, separated by "
    "the path separator (: on Linux and macOS, ; on Windows).",
)
MEASURE_CACHE = Setting(
    "measure_cache",
    "JOINEDUP_MEASURE_CACHE",
    "the warehouse file's name plus .measure-cache, beside it (none for an in-memory "
    "or Spark warehouse)",
    "The folder of cached measure results; keep it inside the warehouse's security boundary.",
)
FIGURES_CACHE = Setting(
    "figures_cache",
    "JOINEDUP_FIGURES_CACHE",
    "the warehouse file's name plus .published, beside it",
    "The folder of published figures, kept per state of the data and shared by the "
    "web app, the command line and the board pack; keep it inside the warehouse's "
    "security boundary.",
)
FEEDBACK_THEMES = Setting(
    "feedback_themes",
    "JOINEDUP_FEEDBACK_THEMES",
    "the shipped list (joinedup/feedback/themes.yaml)",
    "The YAML file of themes (labels and keywords) that patient feedback comments are sorted into.",
)
LOAD_MEMORY = Setting(
    "load_memory",
    "JOINEDUP_LOAD_MEMORY",
    "64 MiB per CPU core, at least 128 MiB and at most a quarter of the machine's memory",
    "DuckDB's memory while a file loads, e.g. 512MiB or 2GB (for each of the loader's two "
    "DuckDB connections: the one that finds duplicate keys and the warehouse's load "
    "transaction); beyond it DuckDB spills to disk. Each uses one thread per 32 MiB of it "
    "at most; less than 64 MiB counts as 64 MiB.",
)

#: Every setting, in the order they are shown and documented.
SETTINGS: tuple[Setting, ...] = (
    WAREHOUSE,
    BACKEND,
    SPARK_MASTER,
    SPARK_DRIVER_MEMORY,
    PROGRAMME_DB,
    USER,
    RISK_MODEL,
    KEY_FILE,
    MEASURES,
    MEASURE_CACHE,
    FIGURES_CACHE,
    FEEDBACK_THEMES,
    LOAD_MEMORY,
)


def warehouse_path() -> Path:
    """``$JOINEDUP_WAREHOUSE`` or ``joinedup-data/warehouse.duckdb``."""
    return Path(WAREHOUSE.raw() or DEFAULT_WAREHOUSE)


def backend() -> str:
    """``$JOINEDUP_BACKEND`` or ``duckdb``."""
    return BACKEND.raw() or DEFAULT_BACKEND


def spark_master() -> str:
    """``$JOINEDUP_SPARK_MASTER`` or ``local[*]``."""
    return SPARK_MASTER.raw() or LOCAL_SPARK_MASTER


def spark_driver_memory() -> str | None:
    """``$JOINEDUP_SPARK_DRIVER_MEMORY``, or None to leave Spark's default."""
    return SPARK_DRIVER_MEMORY.raw()


def programme_url(warehouse: Path | None = None) -> str:
    """The programme store's SQLAlchemy URL: ``$JOINEDUP_PROGRAMME_DB`` or
    ``programme.sqlite`` beside ``warehouse`` (default :func:`warehouse_path`),
    normalised by :func:`joinedup.programme.store.normalise_url` (a plain path is a
    SQLite file, ``postgresql://`` uses psycopg 3; raises StoreURLError otherwise)."""
    from joinedup.programme.store import normalise_url

    url = PROGRAMME_DB.raw()
    if url is None:
        folder = Path(warehouse if warehouse is not None else warehouse_path()).parent
        url = f"sqlite:///{folder / 'programme.sqlite'}"
    return normalise_url(url)


def change_user() -> str | None:
    """``$JOINEDUP_USER``, or None (the command line then uses the login name)."""
    return USER.raw()


def risk_model_dir(warehouse: Path) -> Path:
    """``$JOINEDUP_RISK_MODEL`` or ``risk-model`` beside ``warehouse``."""
    env = RISK_MODEL.raw()
    return Path(env) if env else Path(warehouse).parent / "risk-model"


def key_file() -> Path:
    """``$JOINEDUP_KEY_FILE`` or ``joinedup-data/secrets/pseudonymisation.key``."""
    return Path(KEY_FILE.raw() or DEFAULT_KEY_FILE)


def extra_measure_files() -> list[Path]:
    """The files named by ``$JOINEDUP_MEASURES`` (``os.pathsep``-separated), if any."""
    return [Path(p) for p in (MEASURES.raw() or "").split(os.pathsep) if p]


def measure_cache_dir(warehouse: Path | None) -> Path | None:
    """``$JOINEDUP_MEASURE_CACHE``, else ``<warehouse file>.measure-cache``; None
    without a warehouse file (pass None for an in-memory or non-DuckDB warehouse)."""
    env = MEASURE_CACHE.raw()
    if env:
        return Path(env)
    return None if warehouse is None else Path(f"{warehouse}.measure-cache")


def figures_cache_dir(warehouse: Path) -> Path:
    """``$JOINEDUP_FIGURES_CACHE`` or ``<warehouse file>.published`` beside it."""
    env = FIGURES_CACHE.raw()
    return Path(env) if env else Path(f"{warehouse}.published")


def feedback_themes() -> Path | None:
    """``$JOINEDUP_FEEDBACK_THEMES``, or None for the shipped list."""
    env = FEEDBACK_THEMES.raw()
    return Path(env) if env else None


def load_memory() -> int:
    """DuckDB's memory cap during a load, in bytes: ``$JOINEDUP_LOAD_MEMORY`` (a size
    such as ``512MiB``, ``2GB`` or ``2g``), else 64 MiB per CPU core, at least 128 MiB and
    at most a quarter of the machine's memory; never below 64 MiB. Raises ValueError
    for a value that is not a size."""
    env = LOAD_MEMORY.raw()
    if env is not None:
        size = _size(env)
        if size is None:
            raise ValueError(f"{LOAD_MEMORY.env}={env!r} is not a size (say 512MiB or 2GB)")
    else:
        size = max(128 * MiB, 64 * MiB * _cpus())
        machine = _machine_memory()
        if machine is not None:
            size = min(size, machine // 4)
    return max(int(size), LEAST_LOAD_MEMORY)


_SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE_UNITS |= {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _size(text: str) -> float | None:
    """``512MiB``, ``2 GB``, ``4g`` or a number of bytes, in bytes (None if not a size)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _SIZE_UNITS:
        return None
    return float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def _cpus() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _machine_memory() -> int | None:
    """The machine's physical memory in bytes, or its container's limit if lower (None
    when the system does not say)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def _shown_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(programme_url()).render_as_string(hide_password=True)


def _resolvers() -> dict[str, object]:
    wh = warehouse_path()
    return {
        WAREHOUSE.name: warehouse_path,
        BACKEND.name: backend,
        SPARK_MASTER.name: spark_master,
        SPARK_DRIVER_MEMORY.name: spark_driver_memory,
        PROGRAMME_DB.name: _shown_url,
        USER.name: change_user,
        RISK_MODEL.name: lambda: risk_model_dir(wh),
        KEY_FILE.name: key_file,
        MEASURES.name: lambda: os.pathsep.join(map(str, extra_measure_files())) or None,
        MEASURE_CACHE.name: lambda: measure_cache_dir(wh),
        FIGURES_CACHE.name: lambda: figures_cache_dir(wh),
        FEEDBACK_THEMES.name: feedback_themes,
        LOAD_MEMORY.name: lambda: f"{load_memory() / MiB:,.0f} MiB",
    }


def current_value(setting: Setting) -> str | None:
    """``setting``'s value now, as text (resolved against the default warehouse; a
    password in the programme store's URL hidden), or None when the default is left to
    the code that uses it (say, Spark's own driver memory)."""
    value = _resolvers()[setting.name]()  # type: ignore[operator]
    return None if value is None else str(value)
