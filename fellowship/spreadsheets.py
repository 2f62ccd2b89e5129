"""What every CSV and XLSX export shares: cells a spreadsheet will not run as formulas."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A cell starting with one of these is a formula (or a DDE payload) to Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """'=HYPERLINK(...)' becomes "'=HYPERLINK(...)": shown as text, never run."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_cell(value: Any) -> str:
    """A cell as CSV text that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    text = str(getattr(value, "value", value))
    return neutralise_formula(text)


def xlsx_cell(value: Any) -> Any:
    """A cell for openpyxl: numbers as numbers, naive UTC datetimes, text safe from formulas and control bytes."""
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(getattr(value, "value", value)))
    return neutralise_formula(text)
