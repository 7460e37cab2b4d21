"""The account's data to download: one row per archive asked for
(wizard/domain/exports.py builds it, jobs/export.py runs the build)."""
from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField

from wizard.store.models.accounts import Account, User
from wizard.store.models.base import BaseModel, UTCDateTimeField


class DataExport(BaseModel):
    """One "Download your data" archive: asked for, built, ready, then gone.

    QUEUED -> BUILDING -> READY -> EXPIRED (its file deleted after 7 days),
    or FAILED (the page says why and offers to try again). `building_for` is
    the account's id while the archive is queued or building and NULL
    otherwise; it is unique, so the database itself refuses a second build of
    one account while one runs (NULLs never collide, on either database).

    The file lives at EXPORTS_DIR/<file_name>; the purge deletes the
    account's folder there and verifies that nothing is left.
    """

    QUEUED, BUILDING, READY, FAILED, EXPIRED = "queued", "building", "ready", "failed", "expired"
    UNDER_WAY = (QUEUED, BUILDING)
    # Why a build failed, as the page explains it.
    DISK_FULL, BROKEN = "disk_full", "broken"

    account = ForeignKeyField(Account, backref="data_exports", on_delete="CASCADE")
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    status = CharField(default=QUEUED)
    building_for = IntegerField(null=True, unique=True)
    # "<account id>/<export id>-<random>.zip", relative to EXPORTS_DIR; the
    # random part is also in the signed link, so a link names one build.
    file_name = CharField()
    stage = CharField(default="")  # what the build is doing, for the page
    recordings_total = IntegerField(default=0)
    recordings_done = IntegerField(default=0)
    recordings_missing = IntegerField(default=0)
    size_bytes = BigIntegerField(null=True)
    failure = CharField(null=True)  # DISK_FULL or BROKEN
    attempts = IntegerField(default=0)
    claimed_by = CharField(null=True)
    lease_expires_at = UTCDateTimeField(null=True)
    requested_at = UTCDateTimeField()
    ready_at = UTCDateTimeField(null=True)
    expires_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("account", "id"), False), (("status", "expires_at"), False))

    @property
    def is_under_way(self):
        return self.status in self.UNDER_WAY

    @property
    def is_ready(self):
        return self.status == self.READY

    @property
    def is_failed(self):
        return self.status == self.FAILED

    @classmethod
    def latest_of(cls, account_id):
        """The account's most recent archive, or None."""
        return cls.select().where(cls.account == account_id).order_by(cls.id.desc()).first()
