"""The core stays platform-neutral, and platform commands arrive only through entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

from protocol_bot import cli

CORE = Path(__file__).resolve().parent.parent / "protocol_bot"
PLATFORM_PACKAGES = ("slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "adapters")


def test_core_imports_no_platform_package():
    code = ("import importlib, pkgutil, sys, protocol_bot\n"
            "for info in pkgutil.iter_modules(protocol_bot.__path__):\n"
            "    importlib.import_module('protocol_bot.' + info.name)\n"
            f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {PLATFORM_PACKAGES!r})))\n")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_core_never_names_an_adapter_even_as_a_string():
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            for name in names:
                assert not name.startswith(("adapters.", "slack_bolt", "botbuilder")), \
                    f"{path.name} line {node.lineno} names {name!r}"


def test_platform_commands_come_from_entry_points():
    names = {name for name, _ in cli.load_plugins()}
    assert {"serve", "slack", "teams"} <= names
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert {"serve", "slack", "teams-package", "doctor"} <= set(commands)


def test_a_broken_plugin_is_reported_not_hidden(monkeypatch, capsys):
    broken = EntryPoint(name="broken", value="adapters.no_such_module:register",
                        group=cli.PLUGIN_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    assert cli.load_plugins() == []
    err = capsys.readouterr().err
    assert "'broken' commands could not be loaded" in err and "no_such_module" in err
