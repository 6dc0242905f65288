"""`protocol-bot doctor`: what is configured, what works, and what needs doing, in plain words."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

# Each platform says how its settings look through an entry point of this group:
# `check(env) -> PlatformCheck` (declared in pyproject.toml, so the core names no adapter).
CHECK_GROUP = "protocol_bot.checks"


@dataclass(frozen=True)
class PlatformCheck:
    """One platform's settings: a one-line summary, details for --json, and what is wrong."""

    summary: str
    details: Mapping[str, object] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def half_set(settings: Mapping[str, str], given: tuple[str, ...], needed: str,
             why: str) -> list[str]:
    """A missing setting, said the same way for every platform: 'A is set but B is not: why.'
    when any of `given` is set (in `settings`, name -> value) and `needed` is not."""
    set_ = [name for name in given if settings.get(name)]
    if not set_ or settings.get(needed):
        return []
    return [f"{' and '.join(set_)} {'are' if len(set_) > 1 else 'is'} set but {needed} is not: "
            f"{why}"]


def register(sub, kb_sub) -> None:
    d = sub.add_parser("doctor", help="check the configuration and which monitoring officers "
                                      "the bot can reach")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=run_doctor)


def platform_checks(group: str = CHECK_GROUP) -> list[tuple[str, Callable]]:
    """Each platform's check; one that cannot be loaded is reported by the caller."""
    loaded = []
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            loaded.append((entry.name, entry.load()))
        except Exception as exc:  # its extra is not installed, or it is broken
            loaded.append((entry.name, _unavailable(f"{type(exc).__name__}: {exc}")))
    return loaded


def _unavailable(why: str) -> Callable:
    return lambda env: PlatformCheck("not available", {"mode": "unavailable"},
                                     warnings=(f"support is not installed or broken ({why})",))


def reachability(reachable: Mapping[str, bool]) -> tuple[list[str], list[str]]:
    """(problems, warnings) about the monitoring officers the bot can reach."""
    if not reachable:
        return ["no monitoring officers are configured: set PROTOCOL_BOT_MONITORING_OFFICERS "
                "(e.g. teams:29:abc,slack:U123,cli:mo)"], []
    problems = [] if any(reachable.values()) else [
        "no monitoring officer can be reached yet: each Teams MO must open a chat with the bot "
        "(or install it) once"]
    return problems, [f"{mo} cannot be reached in Teams yet: they must open a chat with the "
                      "bot once" for mo, ok in sorted(reachable.items()) if not ok]


def diagnose(env: Mapping[str, str] | None = None) -> dict:
    """The doctor's report as plain data."""
    from .config import Config
    from .conversation import Conversation
    from .pg_store import redact

    env = dict(os.environ if env is None else env)
    config = Config.from_env(env)
    report: dict = {"knowledge_dir": str(config.knowledge_dir),
                    "db": redact(config.db_url) if config.db_url else str(config.db_path),
                    "problems": [], "warnings": []}
    try:
        conversation = Conversation.build(config)
        report["passages"] = len(conversation.knowledge.answerer.kb.passages)
        report["store"] = getattr(conversation.desk.store, "kind", "")
        # PostgreSQL: the database's knowledge version answered from; SQLite: a content hash
        report["knowledge_version"] = conversation.knowledge.version
        if conversation.knowledge.database is not None:
            report["knowledge_dir"] = str(conversation.knowledge.knowledge_dir)
    except Exception as exc:  # the knowledge base or the database will not load
        report["problems"].append(f"the bot cannot start: {type(exc).__name__}: {exc}")
        report["ok"] = False
        return report
    for name, check in platform_checks():
        result = check(env)
        report[name] = {**result.details, "description": result.summary}
        report["problems"] += [f"{name.capitalize()}: {p}" for p in result.problems]
        report["warnings"] += [f"{name.capitalize()}: {w}" for w in result.warnings]
    report["monitoring_officers"] = reachable = conversation.reachable_mos()
    problems, warnings = reachability(reachable)
    report["problems"] += problems
    report["warnings"] += warnings
    report["ok"] = not report["problems"]
    return report


def run_doctor(args: argparse.Namespace) -> int:
    report = diagnose()
    if getattr(args, "json", False):
        print(json.dumps(report, indent=2))
        return 0 if report["ok"] else 1
    where = (f"version {report['knowledge_version']} in the database"
             if report.get("store") == "postgresql" else report["knowledge_dir"])
    print(f"Knowledge: {where}"
          + (f" ({report['passages']} passages)" if "passages" in report else ""))
    print(f"Database:  {report['db']}")
    for name, _ in platform_checks():
        if name in report:
            print(f"{name.capitalize() + ':':<10} {report[name]['description']}")
    mos = report.get("monitoring_officers") or {}
    if mos:
        print("Monitoring officers:")
        for mo, ok in mos.items():
            how = "reachable" if ok else "NOT reachable yet (must open a chat with the bot once)"
            print(f"  {mo}: {how}")
    for warning in report["warnings"]:
        if "cannot be reached" not in warning:
            print(f"Warning: {warning}")
    for problem in report["problems"]:
        print(f"Problem: {problem}")
    print("OK" if report["ok"] else "Needs attention")
    return 0 if report["ok"] else 1

