"""Opening the programme store and migrating it to the newest schema.

The store is a SQLite file by default (``joinedup-data/programme.sqlite`` beside the
warehouse, or ``$JOINEDUP_PROGRAMME_DB``) and PostgreSQL for a multi-user
deployment. The schema is created and upgraded only by the Alembic migrations that
ship inside this package (``joinedup/programme/migrations``), run programmatically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from joinedup.programme.audit import install_audit
from joinedup.programme.errors import ConflictError, StoreURLError

MIGRATIONS = Path(__file__).parent / "migrations"


def default_store_url() -> str:
    """``$JOINEDUP_PROGRAMME_DB`` or a SQLite file beside the warehouse (see
    :func:`joinedup.settings.programme_url`)."""
    from joinedup.settings import programme_url

    return programme_url()


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``: ``postgresql://`` uses the psycopg 3 driver, a
    plain file path means a SQLite file; only SQLite and PostgreSQL are accepted."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreURLError(
            f"database URL {url!r} is not a URL: use sqlite:///PATH or postgresql://..."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreURLError(
            f"database URL {url!r}: the programme store runs on sqlite or postgresql, not {backend}"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Several editors on one file: wait for a lock rather than failing at once.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite: folders created, foreign keys on)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store behind ``engine`` to ``revision`` (default: the newest)."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the store is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration shipped with this version of joinedup."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@dataclass
class Store:
    """An open programme store: the engine and a session factory with auditing on."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self, user: str = "system") -> Iterator[Session]:
        """A session whose changes are committed on success (rolled back on error) and
        recorded in the change log as made by ``user``."""
        session = self.sessions()
        session.info["user"] = user
        try:
            yield session
            session.commit()
        except StaleDataError:
            session.rollback()
            raise ConflictError(
                "a row was changed by someone else while you were editing it; "
                "reload it and apply your change again"
            ) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open the programme store at ``url`` (default :func:`default_store_url`) and,
    unless ``upgrade`` is false, migrate it to the newest schema first."""
    url = url or default_store_url()
    engine = make_engine(url)
    if upgrade and current_revision(engine) != head_revision():
        migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    install_audit(sessions)
    return Store(url=url, engine=engine, sessions=sessions)
