"""What the journeys do, by the accessible names and data-testid values that
tests/browser/README.md lists as the pages' contract."""
from playwright.sync_api import expect

from tests.support.helpers import progress
from wizard.domain import steps as wizard_steps
from wizard.store.models import Product

STEP_NAMES = [s.name for s in wizard_steps.steps_for(Product.SMRTPHONE)]
SURVEY_REASON = "Too expensive"
SURVEY_COMMENT = "Budget cuts this quarter"


def sign_in(page, base, email="owner@acme.test", password="owner-pass"):
    page.goto(base + "/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out", include_hidden=True)).to_be_attached()


def sign_out(page):
    page.locator("summary", has_text="Account").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to smrtPhone")).to_be_visible()


def expect_step(page, name, product=Product.SMRTPHONE):
    """The wizard shows step `name`: its panel, number and heading."""
    step = wizard_steps.find(wizard_steps.steps_for(product), name)
    panel = page.get_by_test_id(f"step-{name}")
    expect(panel).to_be_visible()
    expect(panel.locator(".progress")).to_have_text(progress(name, product))
    expect(panel.get_by_role("heading", name=step.title, exact=True)).to_be_visible()


def shown_step(page):
    """The name of the step the wizard shows."""
    panel = page.locator("[data-testid^='step-']")
    expect(panel).to_be_visible()
    return panel.get_attribute("data-testid").removeprefix("step-")


def open_products(page, base):
    page.goto(base + "/billing/products")
    expect(page.get_by_role("heading", name="Products")).to_be_visible()


def start_wizard(page, base):
    """Open smrtPhone's wizard at its first step. A request left open by an
    earlier run (against a shared server) is kept first, so the journey
    starts from the beginning."""
    open_products(page, base)
    page.get_by_test_id("cancel-smrtphone").click()
    if shown_step(page) != STEP_NAMES[0]:
        keep_account(page)
        page.get_by_test_id("cancel-smrtphone").click()
    expect_step(page, STEP_NAMES[0])


def keep_account(page):
    page.get_by_test_id("keep-account").click()
    expect(page.get_by_text("Good news: your smrtPhone subscription stays active.")).to_be_visible()


def answer(page, name):
    """Give step `name` the journeys' answers (a step not named asks nothing)."""
    panel = page.get_by_test_id(f"step-{name}")
    expect(panel).to_be_visible()  # .all() below does not wait for the step
    if name == "acknowledge":
        for box in panel.get_by_role("checkbox").all():
            box.check()
    elif name == "survey":
        panel.get_by_label(SURVEY_REASON, exact=True).check()
        panel.get_by_label("Anything you would like to add? (optional)").fill(SURVEY_COMMENT)


def expect_answered(page, name):
    """Step `name` shows the answers `answer` gave it."""
    panel = page.get_by_test_id(f"step-{name}")
    if name == "acknowledge":
        boxes = panel.get_by_role("checkbox")
        expect(boxes.first).to_be_visible()
        for box in boxes.all():
            expect(box).to_be_checked()
    elif name == "survey":
        expect(panel.get_by_label(SURVEY_REASON, exact=True)).to_be_checked()
        expect(panel.get_by_label("Anything you would like to add? (optional)")).to_have_value(SURVEY_COMMENT)


def advance(page, name):
    """Leave step `name` forward, declining the offers (never confirming)."""
    if name == "options":
        page.get_by_test_id("offer-none").click()
    else:
        page.get_by_test_id(f"step-{name}").get_by_test_id("continue").click()


def reactivate(page, product):
    """Reactivate `product` from Products, back to active."""
    page.get_by_test_id(f"reactivate-{product}").click()
    page.get_by_test_id("reactivate-confirm").click()
    expect(page.get_by_text("is active again.")).to_be_visible()


def bring_back(page, base):
    """Undo what an interrupted run against a shared server may have left:
    reactivate smrtPhone, then smrtDialer, if Products offers it."""
    open_products(page, base)
    for product in (Product.SMRTPHONE, Product.SMRTDIALER):
        if page.get_by_test_id(f"reactivate-{product}").count():
            reactivate(page, product)


def sign_in_to_products(page, base, email="owner@acme.test", password="owner-pass"):
    """Sign in and land on Products (an owner's home)."""
    sign_in(page, base, email, password)
    expect(page.get_by_role("heading", name="Products")).to_be_visible()


def press(page, name):
    page.get_by_role("button", name=name).click()


def read_and_acknowledge(page):
    press(page, "Continue")
    expect(page.get_by_role("heading", name="Acknowledge", exact=True)).to_be_visible()
    for box in page.get_by_role("checkbox").all():
        box.check()
    press(page, "Continue")


def answer_survey(page, reason):
    expect(page.get_by_role("heading", name="Tell us why", exact=True)).to_be_visible()
    page.get_by_label(reason, exact=True).check()
    press(page, "Continue")


def confirm(page):
    page.get_by_test_id("confirm-cancellation").click()
    expect(page.get_by_test_id("cancellation-confirmed")).to_be_visible()


def walk_to_offers(page, base, reason):
    """Sign Acme's owner in and walk smrtPhone's wizard to *Before you go*,
    answering the survey with `reason` (its label)."""
    sign_in_to_products(page, base)
    page.get_by_test_id("cancel-smrtphone").click()
    page.get_by_test_id("continue").click()
    expect_step(page, "acknowledge")
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="Continue").click()
    expect_step(page, "survey")
    page.get_by_label(reason).check()
    page.get_by_role("button", name="Continue").click()
    expect_step(page, "options")
