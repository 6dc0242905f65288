"""Settings read from the environment, with the embedded defaults a fresh install runs on.

Every setting is checked when it is read (`Config.from_env`): a value that cannot be right is
refused with a `ConfigError` naming the variable and saying what is wrong, instead of being
half-used (a negative retention that deletes today's log, a mistyped monitoring-officer list
that matches nobody, a database URL taken as a folder name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The shipped documents: inside the package when installed from a wheel, `knowledge/` beside
# the package in a source checkout (an editable install).
SHIPPED_KNOWLEDGE = next((p for p in (PACKAGE_DIR / "shipped_knowledge",
                                      PACKAGE_DIR.parent / "knowledge") if p.is_dir()),
                         PACKAGE_DIR / "shipped_knowledge")
DATA_DIR_NAME = "protocol-bot-data"

DEFAULT_DB = "protocol-bot.db"
DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 36500  # 100 years: anything longer is a typing mistake
# Platforms a person can be named on. A principal on any other platform can never act.
PLATFORMS = ("cli", "slack", "teams")
# A user id is one word: Slack U0123ABC, Teams 29:1a2b-..., a login name. No spaces, and none
# of the separators people mistype for a comma.
_USER = re.compile(r"[^\s,;'\"]+")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting (environment variable or command option) that cannot be used as given.

    `variable` names it, so the message can tell the person exactly what to change.
    """

    def __init__(self, variable: str, message: str):
        self.variable = variable
        self.detail = message
        super().__init__(f"{variable}: {message}")


def setting(env: Mapping[str, str] | None, *names: str) -> str:
    """A platform's setting: the first of `names` (its name, then other spellings) set in `env`
    (default: the environment), stripped; "" when none is."""
    env = os.environ if env is None else env
    return next((value for value in ((env.get(name) or "").strip() for name in names) if value),
                "")


def check_principal(text: str, variable: str = "--as") -> str:
    """'slack:U123' -> 'slack:U123'; ConfigError if it is not PLATFORM:USER on a known platform."""
    entry = text.strip()
    platform, sep, user = entry.partition(":")
    if not sep or not platform or not user:
        raise ConfigError(variable, f"'{entry}' should be PLATFORM:USER, for example slack:U123, "
                                    "teams:29:1a2b... or cli:mo.")
    if platform not in PLATFORMS:
        raise ConfigError(variable, f"'{entry}': '{platform}' is not a platform; use one of "
                                    f"{', '.join(PLATFORMS)} (e.g. slack:U123).")
    if not _USER.fullmatch(user):
        bad = next(c for c in user if not _USER.fullmatch(c))
        shown = "a space" if bad.isspace() else f"'{bad}'"
        hint = " Separate people with commas." if bad in ";, " else ""
        raise ConfigError(variable, f"'{entry}' contains {shown}, which cannot be part of a user "
                                    f"id.{hint}")
    return f"{platform}:{user}"


def parse_principals(raw: str, variable: str = "PROTOCOL_BOT_MONITORING_OFFICERS") -> frozenset[str]:
    """'slack:U123, teams:29:abc,cli:mo' -> {'slack:U123', 'teams:29:abc', 'cli:mo'}.

    Strict: every comma-separated entry must be PLATFORM:USER; an empty entry (two commas
    together), a semicolon or a space inside an entry is refused rather than silently becoming
    a principal that matches nobody.
    """
    if not raw.strip():
        return frozenset()
    out = set()
    for number, entry in enumerate(raw.split(","), start=1):
        if not entry.strip():
            raise ConfigError(variable, f"entry {number} is empty (two commas together, or a "
                                        "comma at the end?). List people as "
                                        "PLATFORM:USER,PLATFORM:USER.")
        out.add(check_principal(entry, variable))
    return frozenset(out)


def parse_days(raw: str, variable: str) -> int:
    """A whole number of days from 1 to MAX_RETENTION_DAYS, or ConfigError saying why not."""
    text = raw.strip()
    if not re.fullmatch(r"[0-9]+", text):
        if re.fullmatch(r"-\s*[0-9]+", text):
            raise ConfigError(variable, f"'{raw}' is negative; give a number of days from 1 to "
                                        f"{MAX_RETENTION_DAYS}.")
        raise ConfigError(variable, f"'{raw}' is not a whole number of days; give a number "
                                    f"from 1 to {MAX_RETENTION_DAYS}, for example 90.")
    if len(text) > 6 or not 1 <= int(text) <= MAX_RETENTION_DAYS:
        raise ConfigError(variable, f"'{raw}' is out of range; give a number of days from 1 to "
                                    f"{MAX_RETENTION_DAYS}.")
    return int(text)


def parse_seconds(raw: str, variable: str, default: int, low: int, high: int) -> int:
    """A whole number of seconds from `low` to `high` (unset: `default`), or ConfigError."""
    text = raw.strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", text) or not low <= int(text) <= high:
        raise ConfigError(variable, f"'{raw}' should be a whole number of seconds from {low} to "
                                    f"{high}.")
    return int(text)


def parse_flag(raw: str, variable: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS or not text:
        return False
    raise ConfigError(variable, f"'{raw}' is neither true nor false (use true or false).")


# --- the database setting --------------------------------------------------------------------------

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# URL schemes PROTOCOL_BOT_DB may name, and whether this version can use them: PostgreSQL
# (pg_store.PgStore, chosen by stores.open_store from Config.db_url; needs the `postgres` extra).
DB_URL_SCHEMES = {"postgresql": True, "postgres": True}


@dataclass(frozen=True)
class DatabaseSetting:
    """What PROTOCOL_BOT_DB names: an SQLite file (`path`) or a PostgreSQL server (`url`)."""

    path: Path | None = None
    url: str | None = None

    @property
    def kind(self) -> str:
        return "sqlite" if self.url is None else _URL.match(self.url).group(1).lower()


def parse_database(raw: str | None, variable: str = "PROTOCOL_BOT_DB") -> DatabaseSetting:
    text = (raw or "").strip()
    if not text:
        return DatabaseSetting(path=Path(DEFAULT_DB))
    url = _URL.match(text)
    if url:
        scheme = url.group(1).lower()
        if scheme not in DB_URL_SCHEMES:
            raise ConfigError(variable, f"'{scheme}://' is not a database protocol-bot can use. "
                                        "Give the path of an SQLite file, e.g. "
                                        "/var/lib/protocol-bot/protocol-bot.db.")
        if not DB_URL_SCHEMES[scheme]:
            raise ConfigError(variable, "PostgreSQL is not supported yet (a later version adds "
                                        "it). For now give the path of an SQLite file, e.g. "
                                        "/var/lib/protocol-bot/protocol-bot.db.")
        return DatabaseSetting(url=text)
    if "\0" in text:
        raise ConfigError(variable, "the path contains a NUL character.")
    if text.endswith(("/", os.sep)):
        raise ConfigError(variable, f"'{text}' ends with '/', so it names a folder; give the "
                                    "database file's path, e.g. "
                                    f"{text.rstrip('/')}/protocol-bot.db.")
    return DatabaseSetting(path=Path(text).expanduser())


@dataclass(frozen=True)
class Config:
    db_path: Path = Path(DEFAULT_DB)
    data_dir: Path = Path(DATA_DIR_NAME)
    knowledge_override: Path | None = None  # PROTOCOL_BOT_KNOWLEDGE, when set
    monitoring_officers: frozenset[str] = field(default_factory=frozenset)
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    log_keep_identity: bool = False
    # PROTOCOL_BOT_DB=postgresql://... (or postgres://): the PostgreSQL store; db_path then
    # keeps its default and only places the data directory.
    db_url: str | None = None
    delivery_lease_seconds: float = 120.0  # a sender that dies mid-send: retried after this

    @property
    def knowledge_dir(self) -> Path:
        """The council's knowledge folder: PROTOCOL_BOT_KNOWLEDGE, else knowledge/ in the data
        directory (seeded from the shipped documents on first run, see datadir.py)."""
        return self.knowledge_override or self.data_dir / "knowledge"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Config":
        """Read and check every setting; ConfigError names the first one that is wrong."""
        env = dict(os.environ if env is None else env)
        database = parse_database(env.get("PROTOCOL_BOT_DB"))
        db_path = database.path if database.path is not None else Path(DEFAULT_DB)
        retention = env.get("PROTOCOL_BOT_LOG_RETENTION_DAYS", "")
        knowledge = (env.get("PROTOCOL_BOT_KNOWLEDGE") or "").strip()
        return cls(
            db_path=db_path,
            db_url=database.url,
            data_dir=Path(env.get("PROTOCOL_BOT_DATA") or db_path.parent / DATA_DIR_NAME),
            knowledge_override=Path(knowledge) if knowledge else None,
            monitoring_officers=parse_principals(env.get("PROTOCOL_BOT_MONITORING_OFFICERS", "")),
            log_retention_days=(parse_days(retention, "PROTOCOL_BOT_LOG_RETENTION_DAYS")
                                if retention.strip() else DEFAULT_RETENTION_DAYS),
            log_keep_identity=parse_flag(env.get("PROTOCOL_BOT_LOG_IDENTITY", ""),
                                         "PROTOCOL_BOT_LOG_IDENTITY"),
            delivery_lease_seconds=parse_seconds(env.get("PROTOCOL_BOT_DELIVERY_LEASE", ""),
                                                 "PROTOCOL_BOT_DELIVERY_LEASE", 120, 2, 3600),
        )
