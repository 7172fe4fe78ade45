"""How a page runs a service: a refusal (DomainError) becomes the form's error or a message, never a 500."""
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from common.errors import DomainError
from common.forms import form_error

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a service call gave: its value, or the refusal that was shown to the user."""
    value: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_service(request: HttpRequest, call: Callable[[], T], *, form: forms.Form | Sequence[forms.Form] | None = None,
                fields: Mapping[str, str] | None = None, refused: str = "", message: bool = True) -> Outcome[T]:
    """Call `call()`; a DomainError goes on `form` (on the field it names, mapped through `fields`) when a form
    is given, else into an error message prefixed by `refused` ("Gold import refused: "). Other errors propagate.
    A page with several forms passes them all: the error goes on the one holding the field, else on the first.
    `message=False` is for a page that shows the refusal itself, beside what was refused (Outcome.error)."""
    try:
        return Outcome(value=call())
    except DomainError as exc:
        if form is not None:
            page_forms = [form] if isinstance(form, forms.Form) else list(form)
            field = (fields or {}).get(exc.field or "", exc.field)
            form_error(next((f for f in page_forms if field in f.fields), page_forms[0]), exc, fields=fields)
        elif message:
            messages.error(request, f"{refused}{exc.message}")
        return Outcome(error=exc)
