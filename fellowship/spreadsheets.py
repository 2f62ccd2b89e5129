"""What every CSV and XLSX export shares: cells a spreadsheet will not run as formulas."""

from __future__ import annotations

#: A cell starting with one of these is a formula (or a DDE payload) to Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """'=HYPERLINK(...)' becomes "'=HYPERLINK(...)": shown as text, never run."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
