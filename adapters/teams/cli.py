"""`protocol-bot teams-package` (the Teams app package to upload) and `protocol-bot doctor`."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "manifest.template.json"
ICONS = {"color.png": (192, 192), "outline.png": (32, 32)}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DEFAULT_OUT = "protocol-bot-teams.zip"


def register(sub, kb_sub) -> None:
    p = sub.add_parser("teams-package",
                       help="write the Teams app package (manifest.json + icons) to upload")
    p.add_argument("--app-id", default=os.environ.get("MICROSOFT_APP_ID")
                   or os.environ.get("MicrosoftAppId") or "",
                   help="the Azure Bot's Microsoft App ID (default: MICROSOFT_APP_ID)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"the zip to write (default {DEFAULT_OUT})")
    p.add_argument("--name", default="Protocol Bot", help="the app's short name (max 30 chars)")
    p.add_argument("--developer", default="The Borough Council",
                   help="who publishes the app (shown in Teams)")
    p.add_argument("--website-url", default="https://www.example.org/",
                   help="the council's website (https)")
    p.add_argument("--privacy-url", default="", help="privacy notice (https; default: website)")
    p.add_argument("--terms-url", default="", help="terms of use (https; default: website)")
    p.add_argument("--version", default="1.0.0", help="the package version (raise it on update)")
    p.set_defaults(func=teams_package)

    # `doctor` may already come from the shared server module; only add it if not.
    if "doctor" not in getattr(sub, "choices", {}):
        d = sub.add_parser("doctor", help="check the configuration and which monitoring "
                                          "officers the bot can reach")
        d.add_argument("--json", action="store_true", help="print one JSON object")
        d.set_defaults(func=doctor)


# --- teams-package -----------------------------------------------------------------------------

def build_manifest(*, app_id: str, name: str = "Protocol Bot", developer: str = "The Borough "
                   "Council", website_url: str = "https://www.example.org/", privacy_url: str = "",
                   terms_url: str = "", version: str = "1.0.0") -> dict:
    values = {"APP_ID": app_id, "SHORT_NAME": name, "DEVELOPER": developer,
              "WEBSITE_URL": website_url, "PRIVACY_URL": privacy_url or website_url,
              "TERMS_URL": terms_url or website_url, "VERSION": version}
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", json.dumps(value)[1:-1])
    return json.loads(text)


def manifest_problems(manifest: dict) -> list[str]:
    problems = []
    if not GUID.match(manifest.get("id", "")):
        problems.append("the app id must be the bot's Microsoft App ID, a GUID like "
                        "00000000-0000-0000-0000-000000000000")
    if len(manifest["name"]["short"]) > 30:
        problems.append("--name must be at most 30 characters")
    if not re.match(r"^\d+\.\d+\.\d+$", manifest.get("version", "")):
        problems.append("--version must look like 1.0.0")
    for field in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        if not manifest["developer"][field].startswith("https://"):
            problems.append(f"developer.{field} must be an https:// address")
    return problems


def package_bytes(manifest: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for icon in ICONS:
            zf.write(HERE / icon, icon)
    return buffer.getvalue()


def teams_package(args: argparse.Namespace) -> int:
    if not args.app_id:
        print("protocol-bot teams-package: give --app-id (the Azure Bot's Microsoft App ID) or "
              "set MICROSOFT_APP_ID.", file=sys.stderr)
        return 2
    manifest = build_manifest(app_id=args.app_id.strip(), name=args.name,
                              developer=args.developer, website_url=args.website_url,
                              privacy_url=args.privacy_url, terms_url=args.terms_url,
                              version=args.version)
    problems = manifest_problems(manifest)
    if problems:
        for problem in problems:
            print(f"protocol-bot teams-package: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(package_bytes(manifest))
    tmp.replace(out)
    print(f"Wrote {out} (bot {manifest['id']}, scopes personal/team/groupChat). Upload it in "
          "Teams: Apps > Manage your apps > Upload an app.")
    if "example.org" in manifest["developer"]["websiteUrl"]:
        print("Note: the website, privacy and terms links are placeholders; pass "
              "--website-url/--privacy-url/--terms-url before publishing to your organisation.")
    return 0


# --- doctor ------------------------------------------------------------------------------------

def diagnose(env: dict[str, str] | None = None) -> dict:
    """What is configured, what works, and what needs doing, as plain data."""
    from protocol_bot.config import Config
    from protocol_bot.conversation import Conversation

    env = dict(os.environ if env is None else env)
    config = Config.from_env(env)
    if config.db_url:
        from protocol_bot.pg_store import redact

        db = redact(config.db_url)  # never the password
    else:
        db = str(config.db_path)
    report: dict = {"knowledge_dir": str(config.knowledge_dir), "db": db,
                    "problems": [], "warnings": []}
    try:
        conversation = Conversation.build(config)
        report["passages"] = len(conversation.knowledge.answerer.kb.passages)
    except Exception as exc:  # the knowledge base or the database will not load
        report["problems"].append(f"the bot cannot start: {type(exc).__name__}: {exc}")
        return report

    try:
        from .bf import TeamsSettings

        settings = TeamsSettings.from_env(env)
        report["teams"] = {"mode": "local" if settings.local_mode else "azure",
                           "app_id": settings.app_id, "tenant_id": settings.tenant_id,
                           "app_type": settings.effective_type if not settings.local_mode else "",
                           "password_set": bool(settings.app_password),
                           "description": settings.describe()}
        report["problems"].extend(f"Teams: {p}" for p in settings.problems())
        if settings.local_mode:
            report["warnings"].append(
                "Teams runs in local mode (no MICROSOFT_APP_ID): fine for the Agents "
                "Playground, not for Microsoft Teams.")
    except ImportError:
        report["teams"] = {"mode": "unavailable"}
        report["warnings"].append("Teams support is not installed: pip install "
                                  "'protocol-bot[teams]'")

    mos = sorted(config.monitoring_officers)
    report["monitoring_officers"] = {}
    if not mos:
        report["problems"].append("no monitoring officers are configured: set "
                                  "PROTOCOL_BOT_MONITORING_OFFICERS (e.g. teams:29:abc,cli:mo)")
    else:
        reachable = conversation.reachable_mos()
        report["monitoring_officers"] = reachable
        if not any(reachable.values()):
            report["problems"].append(
                "no monitoring officer can be reached yet: each Teams MO must open a chat with "
                "the bot (or install it) once")
        for mo, ok in reachable.items():
            if not ok:
                report["warnings"].append(f"{mo} cannot be reached in Teams yet: they must open "
                                          "a chat with the bot once")
    report["ok"] = not report["problems"]
    return report


def doctor(args: argparse.Namespace) -> int:
    report = diagnose()
    if getattr(args, "json", False):
        print(json.dumps(report, indent=2))
        return 0 if report.get("ok") else 1
    print(f"Knowledge: {report['knowledge_dir']}"
          + (f" ({report['passages']} passages)" if "passages" in report else ""))
    print(f"Database:  {report['db']}")
    teams = report.get("teams")
    if teams:
        print(f"Teams:     {teams.get('description') or teams.get('mode')}")
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
    print("OK" if report.get("ok") else "Needs attention")
    return 0 if report.get("ok") else 1
