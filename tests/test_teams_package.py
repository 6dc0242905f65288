"""`protocol-bot teams-package` and `protocol-bot doctor`."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile

from adapters.teams import cli as teams_cli
from protocol_bot.cli import main
from protocol_bot.sqlite_store import SqliteStore

APP_ID = "11111111-2222-3333-4444-555555555555"


def png_info(data: bytes) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def test_teams_package_writes_an_uploadable_zip(tmp_path, capsys):
    out = tmp_path / "pkg" / "protocol-bot.zip"
    assert main(["teams-package", "--app-id", APP_ID, "--out", str(out),
                 "--website-url", "https://www.council.example.gov.uk/"]) == 0
    assert str(out) in capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        color = png_info(zf.read("color.png"))
        outline = png_info(zf.read("outline.png"))
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    commands = {c["title"] for lst in bot["commandLists"] for c in lst["commands"]}
    assert commands == {"help", "tickets", "whoami"}
    personal = next(lst for lst in bot["commandLists"] if "personal" in lst["scopes"])
    assert "tickets" in {c["title"] for c in personal["commands"]}
    for lst in bot["commandLists"]:  # tickets are private: never offered in a channel
        if "personal" not in lst["scopes"]:
            assert "tickets" not in {c["title"] for c in lst["commands"]}
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["developer"]["websiteUrl"] == "https://www.council.example.gov.uk/"
    assert manifest["developer"]["privacyUrl"].startswith("https://")
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["name"]["short"]) <= 30
    assert color[:2] == (192, 192) and outline[:2] == (32, 32)
    assert outline[2] == 6  # RGBA: the outline icon is white on transparent


def test_outline_icon_is_white_and_transparent_only():
    import zlib

    data = (teams_cli.HERE / "outline.png").read_bytes()
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 32 * 4 + 1
    for row in range(32):
        assert raw[row * stride] == 0  # no filter, as written
        line = raw[row * stride + 1:(row + 1) * stride]
        for i in range(0, len(line), 4):
            r, g, b, a = line[i:i + 4]
            assert a == 0 or (r, g, b) == (255, 255, 255)


def test_teams_package_refuses_a_bad_app_id(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    assert main(["teams-package", "--app-id", "not-a-guid", "--out",
                 str(tmp_path / "x.zip")]) == 2
    assert "GUID" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
    assert main(["teams-package", "--app-id", "", "--out", str(tmp_path / "x.zip")]) == 2


def test_teams_package_takes_the_app_id_from_the_environment(tmp_path):
    out = tmp_path / "p.zip"
    result = subprocess.run([sys.executable, "-m", "protocol_bot.cli", "teams-package", "--out",
                             str(out)], capture_output=True, text=True,
                            env={"MICROSOFT_APP_ID": APP_ID, "PATH": "/usr/bin:/bin"},
                            cwd=teams_cli.HERE.parent.parent)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("manifest.json"))["bots"][0]["botId"] == APP_ID


def test_doctor_reports_configuration_and_reachable_mos(tmp_path, monkeypatch, capsys):
    db = tmp_path / "bot.db"
    SqliteStore(db).save_reference("teams:29:mo", {"conversation": {"id": "a:1"},
                                                   "serviceUrl": "https://smba.example/"})
    for name in ("MICROSOFT_APP_ID", "MicrosoftAppId", "MICROSOFT_APP_PASSWORD",
                 "MicrosoftAppPassword", "MICROSOFT_APP_TENANT_ID", "MicrosoftAppTenantId"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(db))
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", "teams:29:mo,teams:29:deputy")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "teams:29:mo: reachable" in out
    assert "teams:29:deputy: NOT reachable yet" in out
    assert "local mode" in out
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["monitoring_officers"] == {"teams:29:deputy": False, "teams:29:mo": True}
    assert report["teams"]["mode"] == "local"


def test_doctor_fails_when_no_mo_can_be_reached_or_credentials_are_half_set(tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv("PROTOCOL_BOT_DB", str(tmp_path / "bot.db"))
    monkeypatch.setenv("PROTOCOL_BOT_MONITORING_OFFICERS", "teams:29:mo")
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.delenv("MICROSOFT_APP_PASSWORD", raising=False)
    monkeypatch.delenv("MicrosoftAppPassword", raising=False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "no monitoring officer can be reached yet" in out
    assert "MICROSOFT_APP_PASSWORD is not" in out
    assert "Needs attention" in out
