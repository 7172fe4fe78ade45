"""Accounts and contractors."""
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


def normalize_email_address(email: str) -> str:
    """One spelling per address: trimmed and lower-cased, so Ana@X.org and ana@x.org are one account."""
    return email.strip().lower()


# Providers known to deliver a.b.c+x@ and abc@ to one mailbox; for every other provider the local part is kept
# as typed (lower-cased only): many treat dots and +tags as different mailboxes, and merging two real people
# would hold an honest account.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_payout_address(email: str) -> str:
    """The one spelling of a payout mailbox: lower-cased; for Gmail also without dots and +tags, on gmail.com."""
    address = normalize_email_address(email)
    local, _, domain = address.rpartition("@")
    if not local:
        return address
    if domain in GMAIL_DOMAINS:
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: object) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractUser):
    """A person who signs in with an email address: a contractor or a staff member."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_case_insensitive")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = normalize_email_address(self.email)
        super().save(*args, **kwargs)


class OnboardingState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    EMAIL_VERIFIED = "email_verified", _("Email verified")
    PROFILE_COMPLETE = "profile_complete", _("Profile complete")
    AGREEMENT_ACCEPTED = "agreement_accepted", _("Agreement accepted")
    QUALIFYING = "qualifying", _("Qualifying")
    APPROVED = "approved", _("Approved")
    ACTIVE = "active", _("Active")
    REJECTED = "rejected", _("Rejected")
    PAUSED = "paused", _("Paused")
    OFFBOARDED = "offboarded", _("Offboarded")


class PayoutMethod(models.TextChoices):
    PAYPAL = "paypal", _("PayPal (email)")
    WISE = "wise", _("Wise (email)")


class Contractor(models.Model):
    """A person who labels for pay. The state changes only through workforce.onboarding."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="contractor")
    state = models.CharField(max_length=32, choices=OnboardingState.choices, default=OnboardingState.APPLIED)
    state_reason = models.CharField(max_length=500, blank=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    legal_name = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=100, blank=True)
    country = CountryField(blank=True)
    timezone = models.CharField(max_length=64, blank=True)  # IANA name, validated by the service
    languages = models.JSONField(default=list, blank=True)  # ISO 639-1 codes
    # The language of LabelCrew's pages and emails for this contractor (a code of settings.LANGUAGES), chosen with
    # the selector on every page; empty: the browser's language, else English.
    ui_language = models.CharField(max_length=16, blank=True)
    # Kinds of notification (NotificationKind) the contractor gets on the dashboard only, without an email.
    emails_off = models.JSONField(default=list, blank=True)
    hours_available_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    payout_method = models.CharField(max_length=16, choices=PayoutMethod.choices, blank=True)
    payout_email = models.EmailField(blank=True)
    # normalize_payout_address(payout_email): one person, one cap is checked on this spelling.
    payout_email_normalized = models.CharField(max_length=254, blank=True, db_index=True)
    # A change of payout method or address holds the next payout until then, unless staff release it.
    payout_held_until = models.DateTimeField(null=True, blank=True)
    # Not empty: held for staff review as a possible second account of one person (the evidence). No batches and
    # no pay until staff release it.
    link_evidence = models.CharField(max_length=500, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    qualification_score = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    anonymized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "country"])]
        # Staff roles (common.roles): operations and admin decide applicants.
        permissions = [("decide_applicants", "Decide applicants and read the contractors, agreements and transitions")]

    def __str__(self) -> str:
        return self.display_name or self.user.email


class OnboardingTransition(models.Model):
    """The audit trail of every state change: who, when, from, to, why."""

    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=32, choices=OnboardingState.choices)
    to_state = models.CharField(max_length=32, choices=OnboardingState.choices)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} -> {self.to_state}"


class TaxForm(models.TextChoices):
    W8BEN = "w8ben", _("W-8BEN-style self-certification (not a US person)")
    W9 = "w9", _("W-9-style certification (US person)")


class TaxDeclaration(models.Model):
    """A signed self-certification, kept as a record with its time; a new one supersedes the old."""

    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="tax_declarations")
    form = models.CharField(max_length=8, choices=TaxForm.choices)
    legal_name = models.CharField(max_length=200)
    country_of_residence = CountryField()
    is_us_person = models.BooleanField()
    certified = models.BooleanField()
    signature = models.CharField(max_length=200)
    declared_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-declared_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_form_display()} of {self.declared_at:%Y-%m-%d}"


class AgreementKind(models.TextChoices):
    CONTRACTOR_AGREEMENT = "contractor_agreement", "Contractor agreement"
    GUIDELINES = "guidelines", "Annotation guidelines"


class Agreement(models.Model):
    """One version of a document contractors must accept. Published versions are never edited."""

    kind = models.CharField(max_length=32, choices=AgreementKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="agreement_kind_version_unique")]
        ordering = ["kind", "-version"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class AgreementAcceptance(models.Model):
    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="acceptances")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contractor", "agreement"], name="acceptance_once_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} accepted {self.accepted_at:%Y-%m-%d}"


class PayoutChange(models.Model):
    """An audited change of payout method or address: old, new, when and from where; staff may release its hold."""

    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="payout_changes")
    old_method = models.CharField(max_length=16, blank=True)
    old_email = models.EmailField(blank=True)
    new_method = models.CharField(max_length=16)
    new_email = models.EmailField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.old_method}:{self.old_email} -> {self.new_method}:{self.new_email}"


class DeviceSignIn(models.Model):
    """A contractor signed in from this device: the fingerprint is sha256 of LabelCrew's own long-lived device cookie
    (random, set at the first sign-in from a browser) and the browser's user agent (workforce.services.devices).
    Another account's sign-in with the same fingerprint holds that account for staff review."""

    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="device_sign_ins")
    fingerprint = models.CharField(max_length=64, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    sign_ins = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [models.UniqueConstraint(fields=["contractor", "fingerprint"], name="one_row_per_device")]

    def __str__(self) -> str:
        return f"contractor {self.contractor_id} on {self.fingerprint[:12]}"


class NotificationKind(models.TextChoices):
    BATCH_ASSIGNED = "batch_assigned", "Batch assigned"
    REWORK = "rework", "Rework requested"
    CAP = "cap", "Weekly cap"
    QUALIFICATION = "qualification", "Qualification round ready"
    ANNOUNCEMENT = "announcement", "Announcement"
    WEEK_DECIDED = "week_decided", "Week approved or rejected"
    PAID = "paid", "Paid"
    ACCOUNT = "account", "Account state"


# About pay and account state: always emailed, whatever the contractor turned off.
NOTIFICATION_KINDS_ALWAYS_EMAILED = frozenset({
    NotificationKind.QUALIFICATION, NotificationKind.WEEK_DECIDED, NotificationKind.PAID, NotificationKind.ACCOUNT})


class Notification(models.Model):
    """Something the contractor is told: kept for the dashboard (its text is rendered by kind, in the reader's
    language, from `params`) and emailed once unless its kind is turned off."""

    contractor = models.ForeignKey(Contractor, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contractor", "read_at"]), models.Index(fields=["contractor", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for contractor {self.contractor_id}"
