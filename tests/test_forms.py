"""Every form of the app derives from FellowshipForm, so none echoes an oversized value whole."""

from __future__ import annotations

import importlib

from flask_wtf import FlaskForm

from fellowship import VIEW_MODULES
from fellowship.forms import FellowshipForm


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_form_of_the_app_is_a_fellowship_form(app):
    for name in VIEW_MODULES:
        importlib.import_module(f"fellowship.{name}")
    ours = {cls for cls in _subclasses(FlaskForm) if cls.__module__.startswith("fellowship.")}
    assert len(ours) > 20
    strays = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in ours if not issubclass(cls, FellowshipForm))
    assert strays == []


def test_no_view_builds_a_bare_flask_form():
    """Button-only forms too (a confirmation, a re-send): they take the app's base, not flask_wtf's directly."""
    from pathlib import Path

    import fellowship

    root = Path(fellowship.__file__).parent
    users = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                   if path.name != "forms.py" or path.parent != root
                   if "FlaskForm" in path.read_text(encoding="utf-8"))
    assert users == []
