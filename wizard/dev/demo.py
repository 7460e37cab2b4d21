"""Demo data: two realty accounts and a Customer Success team of two.

The logins are listed in the README. seed_demo() is idempotent: it creates
the demo accounts when they do not exist, and each staff member (with their
hours) when they do not exist. Volumes can be lowered for tests.
"""
import os
import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from werkzeug.security import generate_password_hash

from wizard.domain import availability
from wizard import clock
from wizard.domain.policy import CALL_RULES
from wizard.store.db import database
from wizard.store.models import (
    Account,
    Agent,
    BillingRecord,
    Call,
    CallFlow,
    CallLog,
    PhoneNumber,
    Plan,
    Product,
    Recording,
    StaffHours,
    Subscription,
    User,
)

PLANS = [
    # product, code, name, price per seat (cents), rank, most seats allowed
    (Product.SMRTPHONE, "phone-starter", "Starter", 2500, 1, 5),
    (Product.SMRTPHONE, "phone-pro", "Pro", 4000, 2, 25),
    (Product.SMRTPHONE, "phone-business", "Business", 6000, 3, 100),
    (Product.SMRTDIALER, "dialer-single", "Single-line dialer", 5000, 1, 5),
    (Product.SMRTDIALER, "dialer-multi", "Multi-line dialer", 9000, 2, 25),
]

ACME_NUMBERS = [
    ("+16175550101", "Main office", PhoneNumber.NOT_PORTING),
    ("+16175550102", "Sales line", PhoneNumber.NOT_PORTING),
    ("+16175550103", "Listings hotline", PhoneNumber.PORT_REQUESTED),
    ("+16175550104", "Old marketing line", PhoneNumber.PORTED),
    ("+16175550105", "Support", PhoneNumber.NOT_PORTING),
]


def ensure_plans():
    """Create the plan catalogue, or bring it up to date; return {code: plan}."""
    plans = {}
    for product, code, name, price, rank, max_seats in PLANS:
        values = dict(product=product, name=name, price_cents_per_seat=price, rank=rank,
                      max_seats=max_seats)
        plan, created = Plan.get_or_create(code=code, defaults=values)
        if not created and any(getattr(plan, k) != v for k, v in values.items()):
            Plan.update(**values).where(Plan.id == plan.id).execute()
            plan = Plan.get_by_id(plan.id)
        plans[code] = plan
    return plans


def create_account(name, owner_email, password_hash, plans, *, owner_name, crm_name=None,
                   credit_cents=0, numbers=(), staff=(), now=None, service_address=None):
    """Create an account with its owner, staff and both subscriptions active."""
    now = now or clock.now()
    account = Account.create(name=name, timezone="America/New_York", service_address=service_address,
                             credit_balance_cents=credit_cents, crm_name=crm_name, created_at=now)
    User.create(email=owner_email, name=owner_name, password_hash=password_hash(owner_email),
                role=User.OWNER, account=account)
    for email, person, role in staff:
        User.create(email=email, name=person, password_hash=password_hash(email), role=role,
                    account=account)
    period_end = (now + timedelta(days=19)).replace(hour=23, minute=59, second=0, microsecond=0)
    Subscription.create(account=account, product=Product.SMRTPHONE, plan=plans["phone-pro"], seats=5,
                        price_cents=5 * plans["phone-pro"].price_cents_per_seat,
                        current_period_end=period_end)
    Subscription.create(account=account, product=Product.SMRTDIALER, plan=plans["dialer-single"], seats=2,
                        price_cents=2 * plans["dialer-single"].price_cents_per_seat,
                        current_period_end=period_end)
    for e164, label, port in numbers:
        PhoneNumber.create(account=account, e164=e164, label=label, port_out_status=port)
    return account


def add_activity(account, recordings_dir, *, call_logs, recordings, invoices, now=None, seed=7):
    """Give `account` agents, call flows, call logs, recordings (real files) and invoices."""
    now = now or clock.now()
    rng = random.Random(seed)
    for i, person in enumerate(["Dana Reyes", "Sam Okafor", "Lee Park"], start=1):
        Agent.create(account=account, name=person, email=f"agent{i}.{account.id}@example.test")
    for flow in ["Business hours", "After hours voicemail", "Listings IVR"]:
        CallFlow.create(account=account, name=flow)

    rows = []
    for i in range(call_logs):
        rows.append(dict(
            account=account.id,
            direction=rng.choice(["inbound", "outbound"]),
            from_number=f"+1617555{rng.randrange(10000):04d}",
            to_number="+16175550101",
            started_at=now - timedelta(minutes=37 * (i + 1)),
            duration_s=rng.randrange(5, 1800),
        ))
    with database.atomic():
        for start in range(0, len(rows), 500):
            CallLog.insert_many(rows[start:start + 500]).execute()

    folder = os.path.join(recordings_dir, str(account.id))
    os.makedirs(folder, exist_ok=True)
    log_ids = [c.id for c in CallLog.select(CallLog.id).where(CallLog.account == account)
               .order_by(CallLog.id).limit(recordings)]
    rec_rows = []
    for i, log_id in enumerate(log_ids):
        relative = os.path.join(str(account.id), f"call-{log_id}.wav")
        data = _tiny_wav(rng)
        with open(os.path.join(recordings_dir, relative), "wb") as f:
            f.write(data)
        rec_rows.append(dict(account=account.id, call_log=log_id, path=relative,
                             size_bytes=len(data), created_at=now - timedelta(hours=i)))
    with database.atomic():
        for start in range(0, len(rec_rows), 500):
            Recording.insert_many(rec_rows[start:start + 500]).execute()

    for i in range(invoices):
        BillingRecord.create(account=account, invoice_number=f"INV-{account.id:04d}-{i + 1:03d}",
                             issued_at=now - timedelta(days=30 * (invoices - i)),
                             amount_cents=30000, description="Monthly subscription")


def _tiny_wav(rng):
    """A valid, very short silent WAV file (8 kHz, 8-bit, mono)."""
    samples = bytes([128]) * rng.randrange(200, 400)
    header = (b"RIFF" + (36 + len(samples)).to_bytes(4, "little") + b"WAVEfmt "
              + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
              + (8000).to_bytes(4, "little") + (8000).to_bytes(4, "little")
              + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
              + b"data" + len(samples).to_bytes(4, "little"))
    return header + samples


DEMO_PASSWORDS = {
    "owner@acme.test": "owner-pass",
    "admin@acme.test": "admin-pass",
    "agent@acme.test": "agent-pass",
    "owner@birch.test": "owner-pass",
    "success@smrtphone.test": "success-pass",
    "morgan@smrtphone.test": "success-pass",
}

MON_FRI, MON_THU = range(5), range(4)
# email, name, time zone, weekly blocks (weekdays, from, to), and a date
# override: (weekday, at least this many days ahead, its blocks; none = a day off).
SUCCESS_TEAM = [
    ("success@smrtphone.test", "Casey Success", "America/New_York",
     [(MON_FRI, "09:00", "17:00")], (4, 7, [])),
    ("morgan@smrtphone.test", "Morgan Reed", "Europe/London",
     [(MON_THU, "08:30", "12:30"), (MON_THU, "13:30", "16:00")], (2, 3, [("10:00", "14:00")])),
]


def _next(weekday, after, today):
    day = today + timedelta(days=after)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def ensure_success_team(password_hash, now):
    """Create each Customer Success staff member who does not exist, and give
    those without weekly hours their hours and one date override in the
    coming weeks (a demo from before hours existed gains them too); leave
    staff who have hours alone."""
    for email, name, tz, weekly, (weekday, after, blocks) in SUCCESS_TEAM:
        staff = User.by_email(email)
        if staff is None:
            staff = User.create(email=email, name=name, password_hash=password_hash(email),
                                role=User.SUCCESS, timezone=tz)
        elif StaffHours.for_staff(staff):
            continue
        availability.set_weekly_hours(
            staff, tz, [(day, starts, ends) for days, starts, ends in weekly for day in days])
        today = now.astimezone(ZoneInfo(tz)).date()
        availability.set_date_override(staff, _next(weekday, after, today), blocks)


def add_past_call(account, staff, now):
    """A call the account's owner had with Customer Success on the last working
    day, at 10:00 the staff member's time, its outcome not yet recorded: the
    console has one to record at once (a call booked today is at least 4
    hours away)."""
    tz = ZoneInfo(staff.timezone or "UTC")
    day = now.astimezone(tz).date() - timedelta(days=1)
    while day.weekday() >= 5:  # back to a weekday
        day -= timedelta(days=1)
    start = datetime.combine(day, time(10, 0), tz).astimezone(timezone.utc)
    booked = start - timedelta(days=2)
    Call.create(account=account, owner=account.owner(), staff=staff, start=start,
                   end=start + CALL_RULES.duration, active_start=start,
                   topic="Is there a cheaper plan for a team of five?",
                   callback_number=PhoneNumber.main_of(account.id).e164,
                   uid=f"call-demo-{account.id}@smrtphone.test", sequence=0, status=Call.BOOKED,
                   assigned_at=booked, created_at=booked, updated_at=booked)


def seed_demo(recordings_dir, *, password_method="scrypt", call_logs=2000, recordings=300,
              invoices=12, past_call=True):
    """Create the demo accounts unless they exist, and the Customer Success
    team; return True if it created the accounts. The plan catalogue and the
    team are brought up to date either way. `past_call`: give Acme a call held
    yesterday (the tests leave it out, to count calls of their own)."""
    ensure_plans()
    hashes = {}

    def password_hash(email):
        if email not in hashes:
            hashes[email] = generate_password_hash(DEMO_PASSWORDS[email], method=password_method)
        return hashes[email]

    now = clock.now()
    with database.atomic():
        ensure_success_team(password_hash, now)
    if User.select().where(User.email == "owner@acme.test").exists():
        return False
    with database.atomic():
        plans = ensure_plans()
        acme = create_account(
            "Acme Realty", "owner@acme.test", password_hash, plans, owner_name="Olivia Owens",
            crm_name="Follow Up Boss", credit_cents=4250, numbers=ACME_NUMBERS,
            service_address="200 Harbor Street, Suite 4, Boston, MA 02110",
            staff=[("admin@acme.test", "Alex Admin", User.ADMIN),
                   ("agent@acme.test", "Avery Agent", User.AGENT)],
            now=now,
        )
        birch = create_account(
            "Birch Homes", "owner@birch.test", password_hash, plans, owner_name="Ben Birch",
            credit_cents=0,
            numbers=[("+12125550140", "Front desk", PhoneNumber.NOT_PORTING),
                     ("+12125550141", "Leads", PhoneNumber.NOT_PORTING)],
            now=now,
        )
        add_activity(acme, recordings_dir, call_logs=call_logs, recordings=recordings,
                     invoices=invoices, now=now)
        add_activity(birch, recordings_dir, call_logs=min(call_logs, 50),
                     recordings=min(recordings, 10), invoices=min(invoices, 3), now=now, seed=11)
        if past_call:
            add_past_call(acme, User.by_email("success@smrtphone.test"), now)
    return True
