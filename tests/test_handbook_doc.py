"""The staff handbook and its browser test agree, so the handbook cannot drift from the product.

docs/huong-dan-can-bo.md illustrates each step with a screenshot that
tests/test_browser_handbook.py takes while doing that step in a real browser. Here, without a
browser: the handbook shows exactly the test's steps (`STEPS`), in the test's order, each image
is in docs/screenshots/handbook/ as a PNG, and that folder holds nothing else.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tests.test_browser_handbook import SCREENSHOT_FOLDER, STEPS

DOCS = Path(__file__).resolve().parent.parent / "docs"
HANDBOOK = DOCS / "huong-dan-can-bo.md"
FOLDER = DOCS.joinpath("screenshots", *SCREENSHOT_FOLDER)
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 200_000  # a palette PNG of a window; a bigger one is a stray or uncompacted capture


def all_steps() -> list[str]:
    """Every step of the browser test, chapter by chapter, in order."""
    return [step for chapter in STEPS.values() for step in chapter]


def handbook_images() -> list[tuple[str, str]]:
    """The (alt text, path) of every image the handbook shows, in order."""
    return IMAGE.findall(HANDBOOK.read_text(encoding="utf-8"))


def png_size(path: Path) -> tuple[int, int]:
    """The width and height of a PNG file, read from its header."""
    header = path.read_bytes()[:24]
    assert header.startswith(PNG_SIGNATURE), f"{path.name} is not a PNG file"
    return struct.unpack(">II", header[16:24])


def test_the_handbook_shows_every_step_of_the_browser_test_in_order():
    prefix = "screenshots/" + "/".join(SCREENSHOT_FOLDER) + "/"
    paths = [path for _alt, path in handbook_images()]
    assert paths, "the handbook shows no screenshot"
    outside = [path for path in paths if not (path.startswith(prefix) and path.endswith(".png"))]
    assert outside == [], f"images outside {prefix}: {outside}"
    shown = [path.removeprefix(prefix).removesuffix(".png") for path in paths]
    assert sorted(set(shown) - set(all_steps())) == [], "pictures no browser test takes"
    assert sorted(set(all_steps()) - set(shown)) == [], "steps the handbook does not show"
    assert shown == all_steps(), "the handbook shows the steps in another order, or twice"


def test_every_picture_says_what_it_shows():
    assert all(alt.strip() for alt, _path in handbook_images())


def test_the_screenshot_folder_holds_exactly_the_steps_as_pngs():
    files = sorted(path.name for path in FOLDER.iterdir())
    assert files == sorted(f"{step}.png" for step in all_steps())
    for name in files:
        path = FOLDER / name
        width, height = png_size(path)
        assert width <= 1280 and height > 0, f"{name} is {width}x{height}"
        assert path.stat().st_size <= MAX_BYTES, f"{name} is {path.stat().st_size} bytes"
