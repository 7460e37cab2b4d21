"""The layout rules (layout_rules.js), run on every page view of every
browser test: after each page load and, with JavaScript, after each htmx
swap. The `page` fixture installs the watch (conftest.py); nothing in a test
calls it.

A broken rule is kept on the page (`page.layout_failures`), with a
screenshot of the page as it was, in test-results/<test name>/layout-N.png.
The journey's next `saw()` fails at once on it, and the test fails at its
end in any case (its teardown), so no view goes unchecked."""
import os
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

RULES = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "layout_rules.js")).read()

# With JavaScript, htmx tells the watch of each swap once it has settled.
# An init script runs before the page's own and is not held to its CSP.
ON_SWAP = """document.addEventListener('htmx:afterSettle', (event) => {
  const target = event.detail && event.detail.target;
  window.__layoutSwapped(target ? (target.id ? '#' + target.id : target.tagName.toLowerCase()) : '?');
});"""


class LayoutWatch:
    def __init__(self, page, folder):
        self.page, self.folder = page, folder
        self.failures = []
        self.seen = set()

    def install(self, context):
        self.page.on("load", lambda _page: self.check("load"))
        if self.page.javascript:
            context.expose_binding("__layoutSwapped", lambda _source, target: self.check(f"htmx swap into {target}"))
            context.add_init_script(ON_SWAP)

    def check(self, trigger):
        """Hold the page as shown now to the rules; keep what breaks them."""
        try:
            found = self.page.evaluate(RULES)
            path = urlsplit(self.page.url).path
        except PlaywrightError:
            return  # the page went on (a redirect, the test's next click) before it could be looked at
        # The same fault of the same page, looked at again, is told once.
        new = [f for f in found if (f["rule"], path, f["element"]) not in self.seen]
        if not new:
            return
        self.seen.update((f["rule"], path, f["element"]) for f in new)
        os.makedirs(self.folder, exist_ok=True)
        shot = os.path.join(self.folder, f"layout-{len(self.failures) + 1}.png")
        try:
            self.page.screenshot(path=shot, full_page=True)
        except PlaywrightError:
            shot = "(no screenshot: the page went on)"
        width = (self.page.viewport_size or {}).get("width")
        self.failures += [f"layout rule '{f['rule']}' broken on {path} ({trigger}, {width} px wide): "
                          f"{f['element']}; screenshot {shot}" for f in new]

    def report(self):
        return "\n".join(self.failures)
