"""Domain errors: what went wrong in words a user can act on, and the HTTP status it maps to.

A message a contractor may read is translated where it is raised (gettext, in the request's language); a
"field: " prefix stays outside the translation, so pages can drop it beside the field it names."""
from django.utils.translation import gettext


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, object]:
        """Facts beside the message that an API client can act on (added to the error body)."""
        return {}


class NotAllowed(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class ServiceUnavailable(DomainError):
    """An outside service the work needs (Label Studio) does not answer now; nothing was changed, try again later."""

    status = 503


class CapExceeded(Conflict):
    """A time entry would take the contractor's pay week past the weekly cap."""

    def __init__(self, *, remaining_minutes: int, week: str) -> None:
        remaining = max(remaining_minutes, 0)
        super().__init__(gettext("Weekly cap reached for %(week)s: %(minutes)s minutes left this week.") % {
            "week": week, "minutes": remaining}, field="end")
        self.remaining_minutes = remaining

    def details(self) -> dict[str, object]:
        return {"remaining_minutes": self.remaining_minutes}
