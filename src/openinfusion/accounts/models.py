"""Sites, roles, users, API tokens and electronic signatures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractUser
from django.db import models

from openinfusion.accounts.permissions import Role as RoleCode
from openinfusion.concurrency import VersionedModel
from openinfusion.errors import InvalidInput


class SiteKind(models.TextChoices):
    HOSPITAL_PHARMACY = "hospital_pharmacy", "Hospital infusion pharmacy"
    INFUSION_CENTER = "infusion_center", "Infusion center"
    HOME_INFUSION = "home_infusion", "Home-infusion branch"


class Site(models.Model):
    """A place the deployment serves; every patient-linked record belongs to one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, choices=SiteKind.choices)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA zone used to show times")
    final_check_excludes_verifier = models.BooleanField(
        default=False,
        help_text=(
            "Ask for three different people on every dose: the pharmacist who verified the order may not "
            "do its final check (the preparer and the releaser never may)."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone: times are stored in UTC and shown, planned and judged in this."""
        return ZoneInfo(self.time_zone or "UTC")

    def clock(self, moment: dt.datetime) -> str:
        """A moment as the people at this site read it: their date and time, with the zone."""
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M %Z}"

    def today(self, now: dt.datetime) -> dt.date:
        """The date on the site's calendar at ``now``."""
        return now.astimezone(self.zone).date()

    def moment(self, day: dt.date, at: dt.time) -> dt.datetime:
        """The instant (UTC) when the site's clock reads ``at`` on ``day``. A time the clock skips
        (the hour lost when summer time starts) is refused; a time it shows twice (the hour repeated
        when it ends) is the first of the two."""
        wall = dt.datetime.combine(day, at).replace(tzinfo=self.zone)
        moment = wall.astimezone(dt.UTC)
        if moment.astimezone(self.zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
            raise InvalidInput(
                f"{day:%Y-%m-%d} {at:%H:%M} does not exist at {self.name}: the clocks go forward that night. "
                "Give a time an hour later.",
                code="NO_SUCH_LOCAL_TIME",
            )
        return moment


class Role(models.Model):
    """One of the fixed roles of ``accounts.permissions.Role``; rows are created by migration."""

    code = models.CharField(max_length=30, primary_key=True, choices=[(r.value, r.label) for r in RoleCode])

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return RoleCode(self.code).label


class User(VersionedModel, AbstractUser):
    """A person (or a named machine client) with roles at one or more sites."""

    sites = models.ManyToManyField(Site, related_name="users", blank=True)
    roles = models.ManyToManyField(Role, related_name="users", blank=True)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    @property
    def printed_name(self) -> str:
        """The name that appears beside a signature (21 CFR 11.50)."""
        return self.get_full_name() or self.username

    def home_site(self) -> Site | None:
        """The first of the person's sites by name: its clock is the one their screens show."""
        return self.sites.order_by("name").first()

    def role_codes(self) -> set[str]:
        cached: set[str] | None = getattr(self, "_role_codes", None)
        if cached is None:
            cached = set(self.roles.values_list("code", flat=True))
            self._role_codes = cached
        return cached

    def forget_cached_roles(self) -> None:
        self.__dict__.pop("_role_codes", None)

    def site_ids(self) -> set[int]:
        cached: set[int] | None = getattr(self, "_site_ids", None)
        if cached is None:
            cached = set(self.sites.values_list("id", flat=True))
            self._site_ids = cached
        return cached


class ApiToken(models.Model):
    """A bearer token for a machine client; only its SHA-256 is stored; it expires and can be revoked."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, shown to tell tokens apart")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="Refused from this moment on")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Recorded at most once a minute")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignatureMeaning(models.TextChoices):
    VERIFIED_BY = "verified_by", "Verified by"
    FINAL_CHECK_BY = "final_check_by", "Final check by"
    PREPARED_BY = "prepared_by", "Prepared by"
    ADMINISTERED_BY = "administered_by", "Administered by"
    APPROVED_BY = "approved_by", "Approved by"


class Signature(models.Model):
    """An electronic signature bound to a hash of the content it signs (21 CFR 11.50, 11.70)."""

    signer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    meaning = models.CharField(max_length=30, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField()
    entity_type = models.CharField(max_length=60)
    entity_id = models.CharField(max_length=60)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at"]
        indexes = [models.Index(fields=["entity_type", "entity_id"])]

    def __str__(self) -> str:
        return f"{self.get_meaning_display()} {self.printed_name} at {self.signed_at:%Y-%m-%d %H:%M} UTC"


class SignInFailure(models.Model):
    """A failed sign-in from a network address, kept for the throttle window only."""

    address = models.GenericIPAddressField()
    username = models.CharField(max_length=150, help_text="As typed, lower-cased")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["address", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M} UTC"
