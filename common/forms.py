"""Forms every app's pages build on, and the one translation of a domain error into a form error."""
from collections.abc import Mapping

from django import forms

from common.errors import DomainError


class AccessibleForm(forms.Form):
    """Points each input with an error at its message, so screen readers read them together."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                auto_id = self[name].auto_id
                described = [f"{auto_id}_helptext"] if self.fields[name].help_text else []
                self.fields[name].widget.attrs["aria-describedby"] = " ".join([*described, f"{auto_id}_error"])


def form_error(form: forms.Form, exc: DomainError, *, fields: Mapping[str, str] | None = None) -> None:
    """The error on the form field it names (through `fields`, a service-field → form-field map), else on the form.

    Beside its field the message drops the service's "field: " prefix, since the field's label already names it."""
    field = (fields or {}).get(exc.field or "", exc.field)
    if field in form.fields:
        form.add_error(field, exc.message.removeprefix(f"{exc.field}: "))
    else:
        form.add_error(None, exc.message)
