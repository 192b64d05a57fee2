"""Users, sessions and API tokens: who may sign in, and as what.

The tables (:mod:`joinedup.access.tables`) live in the programme store's database and
are made by its migrations: :func:`make_accounts_engine` opens that database and
brings it up to date first. Passwords are hashed with argon2id (argon2-cffi); session
and API tokens are random (``secrets``) and stored only as SHA-256 digests, so a copy
of the database signs no one in. What identifiable records each user read is in
:mod:`joinedup.access.audit`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, create_engine, delete, event, insert, select, update

from joinedup.access.roles import CLINICIAN, ROLES
from joinedup.access.tables import api_tokens, sessions, users

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A user could not be added or changed (bad role, duplicate name, weak password)."""


@dataclass(frozen=True)
class User:
    """A signed-in user as the app sees them."""

    id: int
    username: str
    role: str
    org_code: str

    @property
    def practice_code(self) -> str | None:
        """A clinician's own practice (their organisation's ODS code); None otherwise."""
        return self.org_code if self.role == CLINICIAN else None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """``value`` as timezone-aware UTC (SQLite hands back naive datetimes; they were
    written as UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def digest(token: str) -> str:
    """SHA-256 hex digest of a token (what the database keeps)."""
    return hashlib.sha256(token.encode()).hexdigest()


def make_accounts_engine(url: str) -> Engine:
    """An engine on the programme store at ``url``, migrated to the newest schema (which
    holds the tables of users, sessions, tokens and the audit log)."""
    from joinedup.programme.store import current_revision, head_revision, migrate, normalise_url

    url = normalise_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        from pathlib import Path

        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

    if current_revision(engine) != head_revision():
        migrate(engine)
    return engine


def _row_user(row: Any) -> User:
    return User(id=row.id, username=row.username, role=row.role, org_code=row.org_code)


def add_user(engine: Engine, username: str, role: str, org_code: str, password: str) -> User:
    """Add a user; raise :class:`AccountError` with a clear message on bad input."""
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise AccountError(f"username {username!r}: use 1-64 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of: {', '.join(ROLES)}")
    org_code = org_code.strip().upper()
    if not org_code:
        raise AccountError("--org: give the user's organisation (ODS code; a clinician's practice)")
    if len(password) < 10:
        raise AccountError("the password must be at least 10 characters long")
    with engine.begin() as con:
        if con.execute(select(users.c.id).where(users.c.username == username)).first():
            raise AccountError(f"a user called {username!r} already exists")
        result = con.execute(
            insert(users).values(
                username=username,
                password_hash=_hasher.hash(password),
                role=role,
                org_code=org_code,
                failed_logins=0,
                created_at=now(),
            )
        )
        return User(result.inserted_primary_key[0], username, role, org_code)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Give ``username`` a new password (and clear any lockout)."""
    if len(password) < 10:
        raise AccountError("the password must be at least 10 characters long")
    with engine.begin() as con:
        done = con.execute(
            update(users)
            .where(users.c.username == username)
            .values(password_hash=_hasher.hash(password), failed_logins=0, locked_until=None)
        )
        if done.rowcount == 0:
            raise AccountError(f"no user called {username!r}")


def list_users(engine: Engine) -> list[User]:
    """Every user, by name."""
    with engine.connect() as con:
        return [_row_user(r) for r in con.execute(select(users).order_by(users.c.username))]


class LoginRefused(Exception):
    """Sign-in refused; ``message`` is safe to show (it never says which part was wrong)."""

    def __init__(self, message: str, locked: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.locked = locked


BAD_CREDENTIALS = "The username or password is not right."


def authenticate(
    engine: Engine, username: str, password: str, max_failed: int, lockout_minutes: float
) -> User:
    """Check a username and password; count failures and lock the account after
    ``max_failed`` in a row for ``lockout_minutes``. Raise :class:`LoginRefused`."""
    refusal: LoginRefused | None = None
    # Decide inside the transaction, raise after it: a refusal must still commit the
    # failure count (raising inside ``begin()`` would roll it back).
    with engine.begin() as con:
        row = con.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            # Hash anyway so timing does not tell which usernames exist.
            _hasher.hash(password or "x")
            raise LoginRefused(BAD_CREDENTIALS)
        locked_until = aware(row.locked_until)
        if locked_until is not None and locked_until > now():
            raise LoginRefused(
                "This account is locked after too many failed sign-ins. Try again later "
                "or ask an administrator.",
                locked=True,
            )
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            failed = (row.failed_logins or 0) + 1
            values: dict[str, Any] = {"failed_logins": failed}
            refusal = LoginRefused(BAD_CREDENTIALS)
            if failed >= max_failed:
                values = {
                    "failed_logins": 0,
                    "locked_until": now() + timedelta(minutes=lockout_minutes),
                }
                refusal = LoginRefused(
                    "This account is now locked after too many failed sign-ins.", locked=True
                )
        else:
            values = {"failed_logins": 0, "locked_until": None}
            if _hasher.check_needs_rehash(row.password_hash):
                values["password_hash"] = _hasher.hash(password)
        con.execute(update(users).where(users.c.id == row.id).values(**values))
    if refusal is not None:
        raise refusal
    return _row_user(row)


def start_session(engine: Engine, user: User, hours: float) -> tuple[str, str]:
    """A new session for ``user``: returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as con:
        con.execute(delete(sessions).where(sessions.c.expires_at < now()))
        con.execute(
            insert(sessions).values(
                token_hash=digest(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now(),
                expires_at=now() + timedelta(hours=hours),
            )
        )
    return token, csrf


def session_user(engine: Engine, token: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or None."""
    with engine.connect() as con:
        row = con.execute(
            select(users, sessions.c.csrf_token, sessions.c.expires_at)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == digest(token))
        ).first()
    if row is None or aware(row.expires_at) <= now():
        return None
    return _row_user(row), row.csrf_token


def end_session(engine: Engine, token: str) -> None:
    """Sign a session out."""
    with engine.begin() as con:
        con.execute(delete(sessions).where(sessions.c.token_hash == digest(token)))


def issue_token(engine: Engine, user: User, hours: float) -> str:
    """A new API bearer token for ``user``."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as con:
        con.execute(delete(api_tokens).where(api_tokens.c.expires_at < now()))
        con.execute(
            insert(api_tokens).values(
                token_hash=digest(token),
                user_id=user.id,
                created_at=now(),
                expires_at=now() + timedelta(hours=hours),
            )
        )
    return token


def token_user(engine: Engine, token: str) -> User | None:
    """The user behind a live API token, or None."""
    with engine.connect() as con:
        row = con.execute(
            select(users, api_tokens.c.expires_at)
            .join(api_tokens, api_tokens.c.user_id == users.c.id)
            .where(api_tokens.c.token_hash == digest(token))
        ).first()
    if row is None or aware(row.expires_at) <= now():
        return None
    return _row_user(row)
