"""The PostgreSQL server the tests use: each test gets its own schema, dropped afterwards.

PROTOCOL_BOT_PG_URL names the server (default postgresql://postgres@127.0.0.1:5432/test).
Unreachable server: the PostgreSQL tests are skipped, unless PROTOCOL_BOT_PG=required (as in
CI), when they fail instead.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

PG_URL = os.environ.get("PROTOCOL_BOT_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
_reachable: str | None = None  # "" when reachable, else why not


def _why_unreachable() -> str:
    global _reachable
    if _reachable is None:
        try:
            import psycopg

            with psycopg.connect(PG_URL, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            _reachable = ""
        except Exception as exc:  # ImportError or any connection failure
            _reachable = f"{type(exc).__name__}: {exc}".strip()
    return _reachable


def require_pg() -> None:
    """Skip (or, with PROTOCOL_BOT_PG=required, fail) when the server cannot be used."""
    why = _why_unreachable()
    if not why:
        return
    message = f"PostgreSQL at {PG_URL} is not usable ({why})"
    if os.environ.get("PROTOCOL_BOT_PG", "").lower() == "required":
        pytest.fail(message + "; PROTOCOL_BOT_PG=required", pytrace=False)
    pytest.skip(message)


def schema_url(schema: str, base: str = PG_URL) -> str:
    """The server URL with `schema` as the search path (libpq's options parameter)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


def create_schema() -> tuple[str, str]:
    """A fresh empty schema: (name, URL using it)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return name, schema_url(name)


def drop_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
