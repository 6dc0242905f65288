"""Settings read from the environment once, with the embedded defaults a fresh install runs on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The shipped documents: inside the package when installed from a wheel, `knowledge/` beside
# the package in a source checkout (an editable install).
SHIPPED_KNOWLEDGE = next((p for p in (PACKAGE_DIR / "shipped_knowledge",
                                      PACKAGE_DIR.parent / "knowledge") if p.is_dir()),
                         PACKAGE_DIR / "shipped_knowledge")
DATA_DIR_NAME = "protocol-bot-data"


def parse_principals(raw: str) -> frozenset[str]:
    """'slack:U123, teams:29:abc,cli:mo' -> {'slack:U123', 'teams:29:abc', 'cli:mo'}."""
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Config:
    db_path: Path = Path("protocol-bot.db")
    data_dir: Path = Path(DATA_DIR_NAME)
    knowledge_override: Path | None = None  # PROTOCOL_BOT_KNOWLEDGE, when set
    monitoring_officers: frozenset[str] = field(default_factory=frozenset)
    log_retention_days: int = 90
    log_keep_identity: bool = False

    @property
    def knowledge_dir(self) -> Path:
        """The council's knowledge folder: PROTOCOL_BOT_KNOWLEDGE, else knowledge/ in the data
        directory (seeded from the shipped documents on first run, see datadir.py)."""
        return self.knowledge_override or self.data_dir / "knowledge"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Config":
        env = dict(os.environ if env is None else env)
        db_path = Path(env.get("PROTOCOL_BOT_DB") or "protocol-bot.db")
        data_dir = Path(env.get("PROTOCOL_BOT_DATA") or db_path.parent / DATA_DIR_NAME)
        knowledge = env.get("PROTOCOL_BOT_KNOWLEDGE")
        return cls(
            db_path=db_path,
            data_dir=data_dir,
            knowledge_override=Path(knowledge) if knowledge else None,
            monitoring_officers=parse_principals(env.get("PROTOCOL_BOT_MONITORING_OFFICERS", "")),
            log_retention_days=int(env.get("PROTOCOL_BOT_LOG_RETENTION_DAYS") or 90),
            log_keep_identity=(env.get("PROTOCOL_BOT_LOG_IDENTITY", "").lower()
                               in ("1", "true", "yes")),
        )
