"""What every page promises: security headers, no inline code, htmx wiring."""
import re
from html.parser import HTMLParser

from tests.support.helpers import complete_steps, step_url, subscription, text
from wizard.domain import steps as wizard_steps


def test_pages_send_a_strict_content_security_policy(owner):
    for url in ("/billing/products", step_url(subscription(), "consequences")):
        csp = owner.get(url).headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_pages_have_no_inline_scripts_styles_or_handlers(owner, browser):
    pages = [owner.get("/billing/products"), owner.get(step_url(subscription(), "consequences")),
             browser.get("/auth/login")]
    for page in pages:
        body = text(page)
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body) is None
        assert "<style" not in body and " style=" not in body
        assert re.search(r"\son[a-z]+=", body) is None


def test_htmx_is_vendored_pinned_and_configured_without_eval(owner, app):
    body = text(owner.get(step_url(subscription(), "consequences")))
    assert '/static/htmx-2.0.11.min.js' in body
    assert '"allowEval": false' in body and '"includeIndicatorStyles": false' in body
    # The CSRF token travels as a header on every htmx request.
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', body)
    js = app.test_client().get("/static/htmx-2.0.11.min.js")
    assert js.status_code == 200 and b'version:"2.0.11"' in js.data


def test_ids_are_unique_on_every_step(owner):
    from tests.support.helpers import STEP_NAMES, complete_steps

    sub = subscription()
    for name in STEP_NAMES:
        body = text(owner.get(step_url(sub, name)))
        ids = re.findall(r'\sid="([^"]+)"', body)
        assert len(ids) == len(set(ids)), (name, sorted(i for i in ids if ids.count(i) > 1))
        if name != "confirm":
            complete_steps(owner, sub, STEP_NAMES[STEP_NAMES.index(name) + 1])


def test_links_follow_where_the_app_is_mounted_and_what_they_name(owner):
    phone, dialer = subscription(), subscription("smrtdialer")
    complete_steps(owner, phone, "acknowledge")
    for _ in range(2):  # the second time, from the URLs remembered
        page = text(owner.get(step_url(phone, "acknowledge")))
        assert 'href="/static/app.css"' in page
        assert f'action="/cancel/{phone.id}/acknowledge"' in page
        assert f'href="/cancel/{phone.id}/consequences"' in page  # Back
        other = text(owner.get(step_url(dialer, "consequences")))
        assert f'action="/cancel/{dialer.id}/consequences"' in other
        # The same pages served under /wizard (a proxy's prefix) link under it.
        mounted = owner.client.get(f"/cancel/{phone.id}/acknowledge",
                                   base_url="http://localhost/wizard/")
        body = mounted.get_data(as_text=True)
        assert 'href="/wizard/static/app.css"' in body
        assert f'action="/wizard/cancel/{phone.id}/acknowledge"' in body
        assert 'href="/static/' not in body and 'action="/cancel/' not in body


class BoostedLinks(HTMLParser):
    """Each link and form inside an element with hx-boost="true" (its href or
    action), but those that turn boosting off (hx-boost="false")."""

    def __init__(self):
        super().__init__()
        self.open, self.depth, self.found = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in VOID:
            return self._target(tag, attrs)
        self.open.append(attrs.get("hx-boost"))
        self._target(tag, attrs)

    def handle_endtag(self, tag):
        if tag not in VOID and self.open:
            self.open.pop()

    def _target(self, tag, attrs):
        boosted = next((b for b in reversed(self.open) if b is not None), None) == "true"
        where = attrs.get("href") if tag == "a" else attrs.get("action") if tag == "form" else None
        if boosted and where and not where.startswith("#") and attrs.get("hx-boost") != "false":
            self.found.append(where)


VOID = {"input", "br", "img", "meta", "link", "hr", "area", "base", "col", "source", "wbr"}


def test_inside_the_boosted_wizard_panel_only_the_wizard_is_boosted(owner):
    """A boosted link or form swaps its answer into #wizard-panel: one that
    leads out of the wizard (a plans page, booking a call) would put a whole
    page inside the panel. Each step's boosted links and forms lead to the
    wizard's own URLs; the rest say hx-boost="false"."""
    sub = subscription()
    names = [s.name for s in wizard_steps.steps_for(sub.product)]
    for name in names:
        complete_steps(owner, sub, name)
        for page in (owner.get(step_url(sub, name)), owner.get(step_url(sub, name), htmx=True)):
            parser = BoostedLinks()
            parser.feed(text(page))
            assert parser.found, f"{name}: the panel is boosted and has its forms"
            outside = [url for url in parser.found if not url.startswith(f"/cancel/{sub.id}/")]
            assert outside == [], f"{name}: boosted links out of the wizard: {outside}"
