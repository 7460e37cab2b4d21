"""What the help article promises, as data: the grace period, the statements an
owner acknowledges, the survey's reasons and the offers made for each reason.

Wording follows ../shared/seed/cancel-account-article.txt. A statement's text
version is derived from its text, so changing a word changes the version and
an acknowledgement of the old wording no longer counts.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from wizard.store.models import Product

GRACE_PERIOD = timedelta(days=90)


def window_ended(deadline_text):
    """What an owner is told once the 90 days to change their mind are over
    (the reactivation page's refusal, the erasure reminder), `deadline_text`
    the last day, as the account's time zone writes it."""
    return f"The 90 days to change your mind ended on {deadline_text}."


# What each plan includes beside its seats (Plan.max_seats), by plan code:
# the plans page lists it, so that choosing a smaller plan is not blind.
PLAN_FEATURES = {
    "phone-starter": ("Calling and texting in the US and Canada", "Call recording and voicemail",
                      "Up to 3 call flows", "Your CRM connected"),
    "phone-pro": ("Everything in Starter", "Unlimited call flows", "Call queues and ring groups",
                  "Local presence numbers"),
    "phone-business": ("Everything in Pro", "Call analytics and reports", "Priority support",
                       "Single sign-on"),
    "dialer-single": ("One line dialed at a time per agent", "Voicemail drop", "Call scripts"),
    "dialer-multi": ("Everything in Single-line dialer", "Up to three lines dialed at once per agent",
                     "Answering-machine detection"),
}

COMMENT_MAX_LENGTH = 1000
# A billing period, for charging an upgrade pro rata and for a period that
# starts anew (reactivation after the service ended).
BILLING_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class Statement:
    """One sentence an owner acknowledges before canceling.

    `short` names it in the error summary ("Phone numbers: Please tick...").
    `applies_if` names the fact of the account it depends on
    (lifecycle.statements_for reads it): a statement about something the
    account does not have (credit, an active smrtDialer) is not asked, as an
    owner cannot meaningfully acknowledge losing what they do not have.
    """

    key: str
    text: str
    short: str
    applies_if: str = None  # None, HAS_CREDIT or HAS_DIALER
    version: str = field(init=False)

    def __post_init__(self):
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]
        object.__setattr__(self, "version", digest)


HAS_CREDIT, HAS_DIALER = "has_credit", "has_dialer"

SMRTPHONE_STATEMENTS = (
    Statement(
        "numbers_lost",
        "I understand that every phone number I have not ported out will be "
        "removed from my account and cannot be recovered.",
        "Phone numbers",
    ),
    Statement(
        "data_erased",
        "I understand that 90 days after I confirm, all smrtPhone data (agents, "
        "call flows, call logs, recordings and billing history) is permanently deleted.",
        "Data deleted",
    ),
    Statement(
        "credits_nonrefundable",
        "I understand that any remaining credits on the account are non-refundable.",
        "Credits",
        applies_if=HAS_CREDIT,
    ),
    Statement(
        "dialer_cancelled",
        "I understand that canceling smrtPhone also cancels my smrtDialer subscription.",
        "smrtDialer",
        applies_if=HAS_DIALER,
    ),
    Statement(
        "no_reactivation_after",
        "I understand that after complete cancellation, when all its data is erased, "
        "my smrtPhone account cannot be reactivated.",
        "Complete cancellation",
    ),
)

SMRTDIALER_STATEMENTS = (
    Statement(
        "dialer_access_ends",
        "I understand that my smrtDialer access ends at the end of the current billing period.",
        "smrtDialer access",
    ),
    Statement(
        "dialer_phone_unaffected",
        "I understand that smrtPhone, my phone numbers and my data are not affected.",
        "smrtPhone",
    ),
    Statement(
        "dialer_manual_reactivation",
        "I understand that to use smrtDialer again I must reactivate it from Products.",
        "Using smrtDialer again",
    ),
)

STATEMENTS_BY_PRODUCT = {Product.SMRTPHONE: SMRTPHONE_STATEMENTS,
                         Product.SMRTDIALER: SMRTDIALER_STATEMENTS}

SURVEY_REASONS = (
    ("too_expensive", "Too expensive"),
    ("missing_features", "Missing features I need"),
    ("switching_provider", "Switching to another provider"),
    ("not_using_enough", "Not using it enough"),
    ("technical_problems", "Technical problems"),
    ("support_experience", "My support experience"),
    ("business_closing", "My business is closing"),
    ("other", "Other"),
    ("prefer_not_to_say", "Prefer not to say"),
)
SURVEY_REASON_KEYS = frozenset(key for key, _ in SURVEY_REASONS)


COMMENT_TOO_LONG = f"Please keep the comment to {COMMENT_MAX_LENGTH:,} characters or fewer."


def survey_problem(reason, comment):
    """What is wrong with a survey answer, as (field, message), or None: the
    one rule the survey's form, its save and its step's completeness share."""
    if not reason:
        return "reason", "Please choose one reason."
    if reason not in SURVEY_REASON_KEYS:
        return "reason", "Please choose one of the reasons listed."
    if len(comment or "") > COMMENT_MAX_LENGTH:
        return "comment", COMMENT_TOO_LONG
    return None


@dataclass(frozen=True)
class Offer:
    key: str
    title: str
    text: str
    needs_dialer: bool = False
    # Each offer opens its own page: the plans of a product, or booking a call.
    changes_plan_of: str = None
    books_call: bool = False


# The wizard step that shows the offers (wizard/domain/steps.py names it so):
# accepting an offer on its own page completes that step too.
OFFERS_STEP = "options"

OFFERS = {
    o.key: o
    for o in (
        Offer(
            "change_plan",
            "Change your plan",
            "Downgrade, upgrade or customize your smrtPhone plan so it fits how "
            "your team works today.",
            changes_plan_of=Product.SMRTPHONE,
        ),
        Offer(
            "adjust_dialer",
            "Adjust smrtDialer",
            "Keep smrtPhone and use fewer smrtDialer seats, or cancel only smrtDialer.",
            needs_dialer=True,
            changes_plan_of=Product.SMRTDIALER,
        ),
        Offer(
            "book_call",
            "Book a call with Customer Success",
            "Speak with our friendly Success Team: no pressure, just honest advice.",
            books_call=True,
        ),
    )
}

# Most relevant first. Booking a call is always offered; plan and smrtDialer
# changes are offered wherever they could answer the reason given.
OFFERS_BY_REASON = {
    "too_expensive": ("change_plan", "adjust_dialer", "book_call"),
    "missing_features": ("book_call", "change_plan"),
    "switching_provider": ("change_plan", "book_call"),
    "not_using_enough": ("adjust_dialer", "change_plan", "book_call"),
    "technical_problems": ("book_call", "change_plan"),
    "support_experience": ("book_call",),
    "business_closing": ("book_call",),
    "other": ("change_plan", "adjust_dialer", "book_call"),
    "prefer_not_to_say": ("change_plan", "adjust_dialer", "book_call"),
}

REASON_LEADS = {
    "too_expensive": "A smaller plan, or fewer smrtDialer seats, may cost much less.",
    "missing_features": "A higher plan may already include what you are missing, and our team can tell you what is coming.",
    "switching_provider": "Before you move, let us check whether another plan matches the offer you have.",
    "not_using_enough": "You can keep your numbers for less by using fewer seats.",
    "technical_problems": "Our Success Team can look at the problem with you.",
    "support_experience": "We are sorry. Our Success Team would like to put it right.",
    "business_closing": "We are sorry to hear that. If anything can help, our Success Team is here.",
}


def offers_for(reason, dialer_active):
    """Return the offers to show after `reason`, most relevant first."""
    keys = OFFERS_BY_REASON.get(reason, OFFERS_BY_REASON["other"])
    return [OFFERS[k] for k in keys if dialer_active or not OFFERS[k].needs_dialer]


@dataclass(frozen=True)
class CallRules:
    """Every rule of a call with Customer Success, in one place.

    Slots start every `step` from the start of each block of a staff
    member's hours and end within it. Between two calls of one staff member
    there are always `buffer` minutes: a call occupies [start, end + buffer).
    """

    duration: timedelta = timedelta(minutes=30)
    buffer: timedelta = timedelta(minutes=10)
    notice: timedelta = timedelta(hours=4)
    horizon: timedelta = timedelta(days=14)
    step: timedelta = timedelta(minutes=30)
    reminder_before: timedelta = timedelta(hours=24)
    topic_max_length: int = 500
    notes_max_length: int = 2000
    # The times offered by default: those of a call that starts at
    # `owner_day_from` or later and ends by `owner_day_until`, hours of the
    # account's time zone (an owner in New York is not offered 3:30 AM, the
    # London team's morning). "Show all times" offers every free time.
    owner_day_from: int = 8
    owner_day_until: int = 19
    # How many calls an account may hold ahead at once; another booking is
    # refused, pointing at the call to move instead.
    standing_calls_per_account: int = 1

    def clashes(self, start, end, other_start, other_end):
        """Whether a call [start, end) leaves too little room for one [other_start, other_end)."""
        return start < other_end + self.buffer and other_start < end + self.buffer

    def suits_owner(self, start, end, timezone_name):
        """Whether a call [start, end) falls within the owner's day: wall-clock
        times of `timezone_name`, from `owner_day_from` to `owner_day_until`."""
        tz = ZoneInfo(timezone_name)
        first = start.astimezone(tz).replace(tzinfo=None)
        last = end.astimezone(tz).replace(tzinfo=None)
        midnight = datetime.combine(first.date(), time())
        return (first >= midnight + timedelta(hours=self.owner_day_from)
                and last <= midnight + timedelta(hours=self.owner_day_until))


CALL_RULES = CallRules()


def clean_text(text, limit, refusal):
    """Strip `text`; refuse it (refusal(limit)) when longer than `limit`."""
    text = (text or "").strip()
    if len(text) > limit:
        raise refusal(limit)
    return text
