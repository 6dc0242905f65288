"""What every front end (CLI, Slack, Teams) shares: the live knowledge, the MO's desk, the settings."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .live import LiveKnowledge


@dataclass
class BotCore:
    config: Config
    knowledge: LiveKnowledge
    desk: "object | None" = None  # protocol_bot.desk.Desk, attached by build_core

    @classmethod
    def build(cls, config: Config | None = None) -> "BotCore":
        config = config or Config.from_env()
        core = cls(config=config, knowledge=LiveKnowledge(config.knowledge_dir))
        try:
            from .desk import Desk  # the escalation desk (issue 3)
        except ImportError:  # pragma: no cover - only while the desk is being built
            return core
        core.desk = Desk.from_config(config, core.knowledge)
        return core
