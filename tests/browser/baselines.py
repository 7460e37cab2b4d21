"""Visual baselines: a key page's screenshot, compared with the PNG committed
in tests/browser/baselines/ (tests/browser/README.md, "Visual baselines").

`Baselines.match(name)` takes the page as shown now, with JavaScript, at
1280 px and at 390 px wide, and compares each with `<name>-<width>.png`.
pixelmatch (with Pillow) counts the pixels that differ beyond its colour
threshold. A page whose count is over MAX_DIFFERING pixels, whose
size changed, or that has no baseline yet fails the test, and leaves in
test-results/baselines/:
  <name>-<width>.actual.png  what the page looks like now;
  <name>-<width>.diff.png    the baseline with what differs painted red.
Nothing is accepted by itself: `make e2e-baselines` (this module run as a
script, `accept`) copies the .actual.png files of the last run over the
baselines, after a person has looked at each diff.
"""
import os
import sys

from PIL import Image, ImageChops
from pixelmatch.contrib.PIL import pixelmatch

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINES = os.path.join(HERE, "baselines")
RESULTS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "test-results", "baselines")
WIDTHS = {1280: 900, 390: 844}  # a laptop's screen and a phone's, as the issue tried them
# Colour distance pixelmatch forgives (0 to 1; its default is 0.1): antialiasing
# it recognises, and the faintest shading differences, are no change.
THRESHOLD = 0.1
# Pixels a page may differ by and still match. The same page drawn twice by
# the same Chromium differs in none; one word changed differs in some 700
# (0.08% of a phone's page), a digit in some 40: a share of the page would
# let a changed word through, so the allowance is a count.
MAX_DIFFERING = 20


def compare(expected_path, actual):
    """(pixels that differ, pixels in all, the diff image) of `actual` (an
    image) against the PNG at `expected_path`; pages of different sizes are
    compared on a canvas of the larger size, so what was added shows red."""
    expected = Image.open(expected_path).convert("RGBA")
    actual = actual.convert("RGBA")
    # The same pixels: no need for pixelmatch, which takes seconds a page in
    # Python. Compared in RGB: an RGBA difference's bounding box reads only
    # its alpha, which is the same (opaque) for any two screenshots.
    if expected.size == actual.size and ImageChops.difference(
            expected.convert("RGB"), actual.convert("RGB")).getbbox() is None:
        return 0, actual.width * actual.height, None
    size = (max(expected.width, actual.width), max(expected.height, actual.height))
    canvases = []
    for image in (expected, actual):
        canvas = Image.new("RGBA", size, (255, 255, 255, 255))
        canvas.paste(image, (0, 0))
        canvases.append(canvas)
    diff = Image.new("RGBA", size)
    differing = pixelmatch(canvases[0], canvases[1], diff, threshold=THRESHOLD, includeAA=False)
    if expected.size != actual.size:
        differing = max(differing, 1)
    return differing, size[0] * size[1], diff


class Baselines:
    def __init__(self, page):
        self.page = page
        self.failures = []

    def match(self, name):
        """Compare the page as shown now with its baselines at each width."""
        viewport = self.page.viewport_size
        for width, height in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            shot = os.path.join(RESULTS, f"{name}-{width}.actual.png")
            os.makedirs(RESULTS, exist_ok=True)
            # Still: no caret blinking, no transition half done.
            self.page.screenshot(path=shot, full_page=True, animations="disabled", caret="hide")
            self._check(name, width, shot)
        self.page.set_viewport_size(viewport)
        # As in Journey.saw: the screenshot leaves style="" that htmx would
        # copy onto the next swap, and the CSP would refuse.
        self.page.evaluate("document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))")

    def _check(self, name, width, shot):
        expected = os.path.join(BASELINES, f"{name}-{width}.png")
        diff_path = shot.replace(".actual.png", ".diff.png")
        if not os.path.exists(expected):
            self.failures.append(f"{name} at {width} px: no baseline yet; look at {shot}, "
                                 "then accept it with `make e2e-baselines`")
            return
        with Image.open(shot) as actual:
            differing, total, diff = compare(expected, actual)
            actual_size = actual.size
        if differing > MAX_DIFFERING:
            diff.save(diff_path)
            with Image.open(expected) as before:
                sizes = "" if before.size == actual_size else f" (was {before.size[0]}x{before.size[1]}, now {actual_size[0]}x{actual_size[1]})"
            self.failures.append(f"{name} at {width} px differs from its baseline in {differing} of "
                                 f"{total} pixels ({differing / total:.2%}){sizes}: see {diff_path} "
                                 f"and {shot}")
        else:  # only what differs is left behind to look at
            os.remove(shot)
            if os.path.exists(diff_path):
                os.remove(diff_path)


def accept():
    """Copy the last run's screenshots over their baselines: run only after
    looking at each diff (README). Returns the names accepted."""
    if not os.path.isdir(RESULTS):
        return []
    os.makedirs(BASELINES, exist_ok=True)
    accepted = []
    for entry in sorted(os.listdir(RESULTS)):
        if entry.endswith(".actual.png"):
            target = entry.replace(".actual.png", ".png")
            # Kept as a PNG of 256 colours, which these flat pages hold without a
            # difference pixelmatch sees (at most 0.0002% of a page's pixels):
            # the baselines take a third of the room.
            with Image.open(os.path.join(RESULTS, entry)) as image:
                image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE).save(
                    os.path.join(BASELINES, target), optimize=True)
            os.remove(os.path.join(RESULTS, entry))
            diff = os.path.join(RESULTS, entry.replace(".actual.png", ".diff.png"))
            if os.path.exists(diff):
                os.remove(diff)
            accepted.append(target)
    return accepted


if __name__ == "__main__":
    if sys.argv[1:] != ["accept"]:
        sys.exit("usage: python -m tests.browser.baselines accept")
    names = accept()
    print("\n".join(f"accepted {name}" for name in names) or
          "nothing to accept: run `make e2e` first; it leaves the pages that differ in test-results/baselines/")
