"""The systemd units in deploy/ restart every process, run it as the dedicated user, and read one settings file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("fellowship-web.service", "fellowship-worker@.service", "fellowship-beat.service")


def directives(unit: str) -> dict[str, list[str]]:
    """`Key=value` lines by key (a key may repeat), comments and sections aside, continuations joined."""
    text = (DEPLOY / unit).read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("unit", UNITS)
def test_each_process_is_restarted_by_systemd_whatever_happens(unit: str) -> None:
    d = directives(unit)
    assert d["Restart"] == ["always"] and d["StartLimitIntervalSec"] == ["0"]
    assert d["User"] == ["fellowship"] and d["EnvironmentFile"] == ["/etc/fellowship/fellowship.env"]
    for hardening in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices", "RestrictSUIDSGID"):
        assert d[hardening] == ["yes"], hardening
    assert d["ProtectSystem"] == ["strict"] and d["CapabilityBoundingSet"] == [""]
    assert "wsgi:" in d["ExecStart"][0]


def test_the_settings_example_names_every_setting_production_requires() -> None:
    example = (DEPLOY / "fellowship.env.example").read_text()
    for name in ("FELLOWSHIP_CONFIG=production", "SECRET_KEY=", "DATABASE_URL=", "REDIS_URL=", "PUBLIC_URL=",
                 "MAIL_SERVER=", "FELLOWSHIP_INSTANCE=", "HEALTH_STALE_AFTER_SECONDS="):
        assert f"\n{name}" in example, name


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: install Debian's systemd (.ci/run does)"
    for unit in (*UNITS, "fellowship.target"):
        shutil.copy(DEPLOY / unit, tmp_path / unit.replace("@.", "@1."))
    names = [str(tmp_path / unit.replace("@.", "@1.")) for unit in (*UNITS, "fellowship.target")]
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], capture_output=True, text=True,
                            check=False)
    # The code is not installed under /opt here; anything else systemd says is a mistake in a unit.
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable: No such file or directory" not in line]
    assert problems == []
