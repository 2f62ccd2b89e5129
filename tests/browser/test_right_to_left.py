"""Arabic pages are laid out right to left: on a 390 px phone the header starts at the right edge (the wordmark and
the menu button at the right) and the opened main navigation lines its links up on the right; a screenshot is
read back to check the picture the reader sees, not only the boxes the browser reports."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser]

WIDTH = 390
#: How close to an edge counts as "at" it: the header's inline padding (var(--space-4), 16 px) plus a little.
EDGE = 24


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows (RGB or RGBA bytes) of an 8-bit, non-interlaced PNG (Chromium's screenshots)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), "an 8-bit RGB(A) PNG"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytes(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        previous = bytes(line)
        rows.append(previous)
    return width, len(rows), [bytes(r[i:i + 3]) for r in rows for i in range(0, len(r), channels)]  # type: ignore[misc]


def white_columns(shot: bytes, top: int, bottom: int) -> list[int]:
    """The x of every white pixel between rows `top` and `bottom` (the header is green, its logo and text white)."""
    width, _height, pixels = png_pixels(shot)
    return [i % width for i in range(top * width, bottom * width) if pixels[i] == b"\xff\xff\xff"]


def header_layout(browser: Any, base: str, locale: str, shots: Path) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 844})
    context.add_cookies([{"name": "locale", "value": locale, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/calls")
    found: dict[str, Any] = {"dir": page.evaluate("document.documentElement.dir")}
    wordmark = page.locator(".wordmark").bounding_box()
    summary = page.locator(".menu > summary").bounding_box()
    shot = page.screenshot(path=str(shots / f"right-to-left--{locale}--phone.png"))
    found.update(wordmark=wordmark, summary=summary,
                 white=white_columns(shot, int(wordmark["y"]), int(wordmark["y"] + wordmark["height"])))
    page.locator(".menu > summary").click()
    found["links"] = [page.locator(".menu li a").nth(i).bounding_box() for i in range(2)]
    context.close()
    return found


def test_arabic_at_390_px_starts_the_header_and_the_main_navigation_at_the_right_edge(
        browser: Any, live_server: str, artifacts_dir: Path) -> None:
    shots = artifacts_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    arabic = header_layout(browser, live_server, "ar", shots)
    english = header_layout(browser, live_server, "en", shots)

    assert (arabic["dir"], english["dir"]) == ("rtl", "ltr")
    word, menu = arabic["wordmark"], arabic["summary"]
    assert word["x"] + word["width"] >= WIDTH - EDGE, f"the Arabic wordmark is not at the right edge: {word}"
    # The menu button follows the wordmark in reading order: on the wordmark's row it sits to its left in Arabic (to
    # its right in English); when the row is full it wraps to the start of the next row (right edge in Arabic).
    same_row = abs(menu["y"] - word["y"]) < word["height"]
    assert (menu["x"] + menu["width"] <= word["x"]) if same_row else (menu["x"] + menu["width"] >= WIDTH - EDGE), \
        f"the Arabic menu button does not follow the wordmark right to left: {menu}, wordmark {word}"
    assert english["wordmark"]["x"] <= EDGE, "the English wordmark starts at the left edge"
    e_word, e_menu = english["wordmark"], english["summary"]
    if abs(e_menu["y"] - e_word["y"]) < e_word["height"]:
        assert e_menu["x"] >= e_word["x"] + e_word["width"], "the English menu button follows the wordmark"
    else:
        assert e_menu["x"] <= EDGE, "the English menu button starts the next row at the left edge"
    for link in arabic["links"]:  # the opened navigation's links line up on the right
        assert link["x"] + link["width"] >= WIDTH - EDGE - 8, f"an Arabic menu link is not at the right: {link}"
    for link in english["links"]:
        assert link["x"] <= EDGE + 8, f"an English menu link is not at the left: {link}"

    # The picture: in the wordmark's band, the white logo and name sit in the right part in Arabic, the left in English.
    for found in (arabic, english):  # the menu button's white border and words may share the band: leave them out
        box, band = found["summary"], found["wordmark"]
        if abs(box["y"] - band["y"]) < band["height"]:
            found["white"] = [x for x in found["white"] if not box["x"] - 2 <= x <= box["x"] + box["width"] + 2]
    assert arabic["white"] and english["white"], "no white wordmark pixels in the header"
    assert min(arabic["white"]) > WIDTH // 3 and max(arabic["white"]) >= WIDTH - EDGE - 4
    assert max(english["white"]) < WIDTH * 2 // 3 and min(english["white"]) <= EDGE + 4
