"""Chooses the store with one setting: PROTOCOL_BOT_DB is a file path (SQLite, the default) or
a postgresql:// URL (PostgreSQL, for several instances; needs the `postgres` extra)."""

from __future__ import annotations

from .store import Store


def open_store(config, *, create: bool = True, **kwargs) -> Store:
    """The store the configuration names: PgStore for Config.db_url, else SqliteStore.

    `create` matters only for a file: a missing one may be created (commands that start the bot
    or open a ticket), else NoDatabase. A database server's database always exists; its tables
    are created by the first instance that connects."""
    if getattr(config, "db_url", None):
        from .pg_store import PgStore

        return PgStore(config.db_url, **kwargs)
    from .sqlite_store import SqliteStore

    return SqliteStore(config.db_path, create=create, **kwargs)
