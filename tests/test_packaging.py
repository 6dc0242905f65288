"""A wheel carries the shipped documents: installed on its own, it answers out of the box."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_wheel_installed_elsewhere_answers_from_the_shipped_documents(tmp_path):
    dist, site, work = tmp_path / "dist", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    [wheel] = dist.glob("protocol_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "protocol_bot/shipped_knowledge/member-officer-relations-protocol-2026.yaml" in names
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    # The wheel's package comes first on the path; its dependencies come from this venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROTOCOL_BOT_")}
    env["PYTHONPATH"] = str(site)
    code = ("import sys, protocol_bot; from protocol_bot.cli import main; "
            "print(protocol_bot.__file__, file=sys.stderr); "
            "sys.exit(main(['ask', '--json', 'Can I ask an officer to help with party political work?']))")
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(site) in done.stderr  # answered by the installed wheel, not the checkout
    answer = json.loads(done.stdout)
    assert answer["answered"] and answer["citations"][0]["ref"] == "2.3"
    assert list(work.iterdir()) == []  # asking creates no files
