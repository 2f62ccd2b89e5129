"""`make demo-reset` starts the demo over: it removes the demo database, uploads and caught emails from the
instance folder without asking, and nothing else there; the README says when and how to use it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_reset_removes_the_demo_database_uploads_and_mail_and_nothing_else(tmp_path: Path):
    instance = tmp_path / "instance"
    (instance / "uploads" / "documents").mkdir(parents=True)
    (instance / "uploads" / "documents" / "cv.pdf").write_bytes(b"%PDF")
    (instance / "mail").mkdir()
    (instance / "mail" / "1.eml").write_text("Subject: hi")
    for name in ("fellowship.db", "fellowship.db-wal", "celerybeat-schedule.dat", "settings.env"):
        (instance / name).write_text("x")
    env = {**os.environ, "FELLOWSHIP_INSTANCE": str(instance)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(["make", "--no-print-directory", "demo-reset"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in instance.iterdir()) == ["settings.env"]
    assert "make run" in done.stdout


def test_readme_says_how_to_start_over_with_a_fresh_demo():
    readme = (ROOT / "README.md").read_text()
    assert "make demo-reset && make run" in readme
