"""The core imports no platform SDK: Slack and Teams are optional extras."""

import subprocess
import sys

CORE_MODULES = ["protocol_bot.cli", "protocol_bot.answering", "protocol_bot.live", "protocol_bot.core",
                "protocol_bot.knowledge", "protocol_bot.index", "protocol_bot.analyzer",
                "protocol_bot.evaluation", "protocol_bot.cli_ask", "protocol_bot.cli_kb"]
PLATFORM_PACKAGES = ("slack_bolt", "slack_sdk", "botbuilder", "aiohttp")


def test_core_imports_no_platform_sdk():
    code = ("import importlib, sys\n"
            f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
            "import protocol_bot, pkgutil\n"
            "for info in pkgutil.iter_modules(protocol_bot.__path__):\n"
            "    importlib.import_module('protocol_bot.' + info.name)\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {PLATFORM_PACKAGES!r})\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
