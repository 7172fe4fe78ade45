"""Domain errors: what went wrong in words a user can act on, and the HTTP status it maps to."""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409
