"""The mail job: send one outbox message over SMTP, or write it as a .eml file.

With MAIL_SERVER unset (the default in development) each message is written
to OUTBOX_DIR (instance/outbox/) as an .eml file, readable with any mail
program or a text editor.
"""
import hashlib
import logging
import os
import smtplib
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime

from peewee import OperationalError

from wizard import clock, files, queue
from wizard.domain import invitation, mail, outbox
from wizard.store.models import OutboxMessage

from . import job_context

log = logging.getLogger(__name__)


def send_message(message_id):
    with job_context() as settings:
        message = outbox.claim_message(message_id, clock.now())
        if message is None:
            return "not claimed"
        try:
            deliver(as_email(message, settings["MAIL_FROM"]), message, settings)
        except (smtplib.SMTPException, OSError) as refused:
            return _not_sent(message, refused, settings)
        if not _record_sent(message):
            # Our lease ran out mid-send and another sender took the message.
            log.warning("Message %s was taken over while it was being sent", message_id)
        log.info("Sent message %s (%s)", message_id, message.kind, extra={"job": "mail"})
        return "sent"


def _not_sent(message, refused, settings):
    """The server refused or was out of reach: the message waits for its next
    try (outbox.send_failed); at MAIL_MAX_ATTEMPTS, the operators hear of it once."""
    now = clock.now()
    outbox.send_failed(message, now)
    log.warning("Message %s not sent (try %s): %s; trying again in %s", message.id,
                message.attempts, refused, outbox.retry_delay(message.attempts), extra={"job": "mail"})
    if (message.attempts >= settings["MAIL_MAX_ATTEMPTS"] and settings["OPS_EMAIL"]
            and message.kind != OutboxMessage.OPS_ALERT):
        alert = mail.mail_failing(message, message.attempts, settings["OPS_EMAIL"], now)
        if alert.is_new:
            log.error("Message %s failed %s times; the operators are told", message.id,
                      message.attempts)
            queue.enqueue_mail(alert.id)
    return "not sent"


def _record_sent(message, attempts=5):
    """Mark the message sent, retrying a busy database: the email has already
    gone, and failing here would send it again once the lease runs out."""
    for attempt in range(attempts):
        try:
            return outbox.mark_sent(message, clock.now())
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)


def as_email(message, sender):
    """The message as sent: multipart/alternative (text, HTML), plus its invitation."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    # The same message sent twice (a crash between send and mark) keeps its
    # Message-ID, so mail clients can fold the copies.
    digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32]
    email["Message-ID"] = f"<{digest}@smrtphone.test>"
    # Text first, then the HTML alternative (a message from before HTML has none).
    email.set_content(message.body)
    if message.body_html is not None:
        email.add_alternative(message.body_html, subtype="html")
    if message.attachment_ics:
        # A calendar invitation: text/calendar with its iTIP method, so mail
        # programs offer to add, update or remove the event.
        email.add_attachment(message.attachment_ics, subtype="calendar", filename="invite.ics",
                             params={"method": invitation.method_of(message.attachment_ics)})
    return email


def deliver(email, message, settings):
    if settings["MAIL_SERVER"]:
        with smtplib.SMTP(settings["MAIL_SERVER"], settings["MAIL_PORT"], timeout=30) as smtp:
            if settings["MAIL_USE_TLS"]:
                smtp.starttls()
            if settings["MAIL_USERNAME"]:
                smtp.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"])
            smtp.send_message(email)
        return
    folder = settings["OUTBOX_DIR"]
    files.private_folder(folder)  # the messages hold owners' names and addresses
    # Time first, so the folder lists in order; ids alone can repeat once a
    # purge has deleted an account's messages.
    final = os.path.join(folder, f"{message.created_at:%Y%m%dT%H%M%S}-{message.id:06d}-{message.kind}.eml")
    fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(bytes(email))
    os.replace(temporary, final)
