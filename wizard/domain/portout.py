"""Keeping the numbers: what an owner needs to port each number out to
another carrier before the account lets it go (the help article: numbers not
ported out "will be lost and unrecoverable").

`release_at` is the one place that says when the numbers are released: at
the end of smrtPhone's service, the end of its paid period. Step 1, the
port-out kit, Done and the emails all read it.

The port-out PIN is what the new carrier quotes back to prove the port is
the owner's. It is not stored: it is derived from the app's secret and the
account's `port_pin_generation`, so the database keeps only which PIN is in
force, and the purge, which deletes the account's row, leaves nothing of it.
"Make a new PIN" moves the generation on; the old PIN stops matching at once.
A new SECRET_KEY makes new PINs too (the kit then shows the new one).
"""
import hashlib
import hmac
from dataclasses import dataclass

from wizard.store.db import transaction
from wizard.store.models import Account, AuditEvent, PhoneNumber

PIN_DIGITS = 6

IN_SERVICE, PORTING, PORTED = "in service", "port-out in progress", "ported out"


def release_at(phone):
    """When the account's numbers are released, for its smrtPhone subscription
    `phone`: the end of service (its current paid period's end). A number
    whose port has not completed by then is lost."""
    return phone.current_period_end


@dataclass(frozen=True)
class NumberToKeep:
    number: PhoneNumber
    status: str  # IN_SERVICE, PORTING or PORTED
    last_day: object  # the release, for a number not yet ported out; None once it is

    @property
    def is_safe(self):
        return self.status == PORTED


def numbers_to_keep(account_id, phone):
    """Each of the account's numbers with its port-out status and the last
    moment it can still be ported, in number order."""
    released = release_at(phone)
    kept = []
    for number in PhoneNumber.of_account(account_id):
        status = PORTED if number.is_ported else PORTING if number.port_requested else IN_SERVICE
        kept.append(NumberToKeep(number, status, None if status == PORTED else released))
    return kept


def account_number(account):
    """The account number a new carrier asks for: "SP-000042"."""
    return f"SP-{account.id:06d}"


def pin(account, secret):
    """The account's port-out PIN in force: PIN_DIGITS digits."""
    message = f"port-out-pin:{account.id}:{account.port_pin_generation}".encode()
    digest = hmac.new(secret.encode() if isinstance(secret, str) else secret, message,
                      hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10 ** PIN_DIGITS).zfill(PIN_DIGITS)


def pin_matches(account, secret, offered):
    """Does `offered` (what a carrier quotes) match the PIN in force?"""
    return hmac.compare_digest(pin(account, secret), str(offered).strip())


def revealed(account, user, ip, now):
    """Record that `user` was shown the PIN (the audit log keeps who and when, never the PIN)."""
    AuditEvent.record("portout.pin_revealed", account.id, user, ip, now,
                      generation=account.port_pin_generation)


def regenerate(account, user, ip, now):
    """Put a new PIN in force; return the account as it now is."""
    with transaction():
        Account.update(port_pin_generation=Account.port_pin_generation + 1).where(
            Account.id == account.id).execute()
        fresh = Account.get_by_id(account.id)
        AuditEvent.record("portout.pin_regenerated", account.id, user, ip, now,
                          generation=fresh.port_pin_generation)
    return fresh
