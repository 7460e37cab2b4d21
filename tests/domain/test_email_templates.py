"""Emails are templates: each kind is its .txt and .html under templates/email/,
a new email needs those and the call that composes it, and links come from
the app's URL map, in a request or in a job."""
import email
import email.policy
import os

from jinja2 import FileSystemLoader

from jobs.mail import as_email, send_message
from wizard import clock
from wizard.domain import mail
from wizard.store.models import OutboxMessage
from wizard.web import links, url_map

STATUSES = {OutboxMessage.HELD, OutboxMessage.PENDING, OutboxMessage.SENDING, OutboxMessage.SENT,
            OutboxMessage.VOID}


def test_every_kind_has_its_two_templates_and_every_template_a_kind():
    kinds = {value for name, value in vars(OutboxMessage).items()
             if name.isupper() and isinstance(value, str)} - STATUSES
    assert kinds == set(OutboxMessage.KINDS), "a kind constant missing from KINDS"
    templates = {name for name in os.listdir(mail.TEMPLATES) if not name.startswith("_")}
    assert templates == {f"{kind}.{ext}" for kind in OutboxMessage.KINDS for ext in ("txt", "html")}


NEW = "welcome_gift"  # a kind no code knows


def test_a_new_email_is_its_two_templates_and_the_call_that_composes_it(app, tmp_path, monkeypatch):
    (tmp_path / f"{NEW}.txt").write_text(
        "Hello {{ name }},\n\nA gift of {{ cents|money }} awaits you: {{ url }}\n")
    (tmp_path / f"{NEW}.html").write_text(
        '{% extends "_layout.html" %}\n{% block body %}\n<p>Hello {{ name }},</p>\n'
        '<p>A gift of {{ cents|money }} awaits you: <a href="{{ url }}">{{ url }}</a></p>\n'
        '{% endblock %}\n')
    monkeypatch.setattr(mail.env, "loader", FileSystemLoader([str(tmp_path), mail.TEMPLATES]))
    url = url_map.links(app.config["BASE_URL"])("billing.products")

    message = mail.compose(NEW, "welcome-gift:1", "owner@acme.test", "A gift for you",
                           {"name": "Olivia <O'Owens>", "cents": 1250, "url": url}, clock.now())

    row = OutboxMessage.get_by_id(message.id)
    assert message.is_new and (row.kind, row.status, row.subject) == (NEW, "pending", "A gift for you")
    assert row.body == ("Hello Olivia <O'Owens>,\n\n"
                        "A gift of $12.50 awaits you: http://127.0.0.1:5000/billing/products")
    assert "<title>A gift for you</title>" in row.body_html
    assert "<p>Hello Olivia &lt;O&#39;Owens&gt;,</p>" in row.body_html  # escaped, the HTML only
    assert '<a href="http://127.0.0.1:5000/billing/products">' in row.body_html

    sent = as_email(row, "from@smrtphone.test")
    assert sent.get_content_type() == "multipart/alternative"
    plain, html = sent.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content() == row.body + "\n"  # the MIME part ends its last line
    assert html.get_content() == row.body_html

    assert send_message(message.id) == "sent"
    folder = app.config["OUTBOX_DIR"]
    [name] = [f for f in os.listdir(folder) if f.endswith(f"{NEW}.eml")]
    with open(os.path.join(folder, name), "rb") as f:
        written = email.message_from_binary_file(f, policy=email.policy.default)
    assert written.get_body(("plain",)).get_content().rstrip("\n") == row.body
    assert "awaits you: <a href=" in written.get_body(("html",)).get_content()


def test_an_email_with_an_invitation_is_its_alternatives_and_the_attachment(app):
    message = mail.compose(OutboxMessage.ERASURE_COMPLETE, "erasure-complete:9:1",
                           "owner@acme.test", "Your smrtPhone data has been erased",
                           {"name": "Olivia", "had_crm": False}, clock.now(),
                           attachment_ics="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n")
    sent = as_email(message, "from@smrtphone.test")
    assert sent.get_content_type() == "multipart/mixed"
    alternative, invite = sent.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert invite.get_content_type() == "text/calendar" and invite.get_filename() == "invite.ics"


def test_a_message_from_before_html_is_sent_as_plain_text(app):
    from wizard.domain import outbox

    message = outbox.compose("plain:1", "plain", "owner@acme.test", "Hi", "Body", clock.now())
    sent = as_email(message, "from@smrtphone.test")
    assert sent.get_content_type() == "text/plain" and sent.get_content() == "Body\n"


EMAIL_PAGES = [
    ("billing.reactivate", {"subscription_id": 3}, "/billing/reactivate/3"),
    ("billing.products", {}, "/billing/products"),
    ("calls.reschedule", {"call_id": 4}, "/calls/4/reschedule"),
    ("calls.book", {}, "/calls/book"),
]


def test_links_are_base_url_and_the_pages_path_in_a_request_or_a_job(app):
    job = url_map.links("http://127.0.0.1:5000")
    # Even under a proxy's prefix: BASE_URL is the public address, prefix included.
    with app.test_request_context("/", base_url="http://localhost/wizard/"):
        in_app = links.for_app()
    for endpoint, values, path in EMAIL_PAGES:
        assert in_app(endpoint, **values) == job(endpoint, **values) == "http://127.0.0.1:5000" + path


def test_reminders_composed_before_the_columns_get_their_facts(app):
    from datetime import datetime, timezone

    from wizard.store.migrations import _facts_of_unsent_reminders

    def row(key, kind, status="pending"):
        return OutboxMessage.create(dedupe_key=key, kind=kind, to_address="o@acme.test", subject="s",
                                    body="b", created_at=clock.now(), status=status).id

    erasure = row("erasure-reminder-7:12:3", OutboxMessage.REMINDER_7)
    call = row("call-reminder:5:20261130T170000Z", OutboxMessage.CALL_REMINDER)
    sent = row("erasure-reminder-30:12:3", OutboxMessage.REMINDER_30, status="sent")
    _facts_of_unsent_reminders(OutboxMessage)
    facts = {m.id: (m.purge_schedule_id, m.purge_generation, m.call_id, m.call_start)
             for m in OutboxMessage.select()}
    assert facts == {
        erasure: (12, 3, None, None),
        call: (None, None, 5, datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)),
        sent: (None, None, None, None),  # sent: nothing will check it again
    }
