"""Store URLs: the default, plain paths, the PostgreSQL driver and refused backends."""

from __future__ import annotations

import pytest

from joinedup.programme.errors import StoreURLError
from joinedup.programme.store import default_store_url, normalise_url

pytestmark = pytest.mark.unit


def test_default_is_a_sqlite_file_beside_the_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOINEDUP_PROGRAMME_DB", raising=False)
    monkeypatch.setenv("JOINEDUP_WAREHOUSE", "data/wh/warehouse.duckdb")
    assert default_store_url() == "sqlite:///data/wh/programme.sqlite"
    monkeypatch.setenv("JOINEDUP_PROGRAMME_DB", "elsewhere/p.sqlite")
    assert default_store_url() == "sqlite:///elsewhere/p.sqlite"


def test_urls() -> None:
    assert normalise_url("postgresql://u:pw@h:5433/db") == "postgresql+psycopg://u:pw@h:5433/db"
    assert normalise_url("sqlite:////abs/p.sqlite") == "sqlite:////abs/p.sqlite"
    assert normalise_url("rel/p.sqlite") == "sqlite:///rel/p.sqlite"
    with pytest.raises(StoreURLError, match="not mysql"):
        normalise_url("mysql://u@h/db")
