"""Settings read from the environment, with the embedded defaults a fresh install runs on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SHIPPED_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def parse_principals(raw: str) -> frozenset[str]:
    """'slack:U123, teams:29:abc,cli:mo' -> {'slack:U123', 'teams:29:abc', 'cli:mo'}."""
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Config:
    knowledge_dir: Path = SHIPPED_KNOWLEDGE
    db_path: Path = Path("protocol-bot.db")
    monitoring_officers: frozenset[str] = field(default_factory=frozenset)
    log_retention_days: int = 90
    log_keep_identity: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Config":
        env = dict(os.environ if env is None else env)
        return cls(
            knowledge_dir=Path(env.get("PROTOCOL_BOT_KNOWLEDGE") or SHIPPED_KNOWLEDGE),
            db_path=Path(env.get("PROTOCOL_BOT_DB") or "protocol-bot.db"),
            monitoring_officers=parse_principals(env.get("PROTOCOL_BOT_MONITORING_OFFICERS", "")),
            log_retention_days=int(env.get("PROTOCOL_BOT_LOG_RETENTION_DAYS") or 90),
            log_keep_identity=(env.get("PROTOCOL_BOT_LOG_IDENTITY", "").lower()
                               in ("1", "true", "yes")),
        )
