"""`protocol-bot teams-package` (the Teams app package to upload) and Teams' part of `doctor`."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

from protocol_bot.doctor import PlatformCheck

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


# --- teams-package -----------------------------------------------------------------------------

def build_manifest(args: argparse.Namespace) -> dict:
    """The manifest template filled in from the command's options."""
    website = args.website_url
    values = {"APP_ID": args.app_id.strip(), "SHORT_NAME": args.name,
              "DEVELOPER": args.developer, "WEBSITE_URL": website,
              "PRIVACY_URL": args.privacy_url or website, "TERMS_URL": args.terms_url or website,
              "VERSION": args.version}
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
    manifest = build_manifest(args)
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

def check(env: dict[str, str]) -> PlatformCheck:
    """The app registration as `protocol-bot doctor` reports it."""
    from .bf import TeamsSettings

    s = TeamsSettings.from_env(env)
    details = {"mode": "local" if s.local_mode else "azure", "app_id": s.app_id,
               "tenant_id": s.tenant_id, "app_type": "" if s.local_mode else s.effective_type,
               "password_set": bool(s.app_password)}
    local = ("runs in local mode (no MICROSOFT_APP_ID): fine for the Agents Playground, not for "
             "Microsoft Teams.",) if s.local_mode else ()
    return PlatformCheck(s.describe(), details, tuple(s.problems()), local)
