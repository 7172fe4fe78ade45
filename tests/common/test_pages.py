"""common.pages.run_service and common.forms.form_error: how every page shows a service's refusal."""
import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpRequest
from django.test import RequestFactory

from common.errors import DomainError
from common.pages import run_service


class EntryForm(forms.Form):
    start_time = forms.CharField()
    note = forms.CharField(required=False)


def _request() -> HttpRequest:
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _refuse(message: str, field: str | None = None) -> None:
    raise DomainError(message, field=field)


def test_a_value_comes_back_and_nothing_is_said() -> None:
    request = _request()
    outcome = run_service(request, lambda: 42)
    assert outcome.ok
    assert outcome.value == 42
    assert outcome.error is None
    assert list(get_messages(request)) == []


def test_a_refusal_lands_on_the_field_it_names_through_the_map_without_the_prefix() -> None:
    request, form = _request(), EntryForm({"start_time": "x"})
    form.is_valid()
    outcome = run_service(request, lambda: _refuse("start: overlaps another entry.", "start"), form=form,
                          fields={"start": "start_time"})
    assert not outcome.ok
    assert outcome.error.field == "start"
    assert form.errors == {"start_time": ["overlaps another entry."]}
    assert list(get_messages(request)) == []


def test_a_refusal_naming_no_field_of_the_form_goes_on_the_form_whole() -> None:
    request, form = _request(), EntryForm({"start_time": "x"})
    form.is_valid()
    run_service(request, lambda: _refuse("batch: you no longer hold it.", "batch"), form=form)
    assert form.non_field_errors() == ["batch: you no longer hold it."]


def test_several_forms_the_refusal_goes_on_the_one_holding_the_field() -> None:
    class TaxForm(forms.Form):
        signature = forms.CharField()

    request, first, second = _request(), EntryForm({"start_time": "x"}), TaxForm({"signature": "A"})
    first.is_valid(), second.is_valid()
    run_service(request, lambda: _refuse("signature: must match the legal name.", "signature"), form=[first, second])
    assert first.errors == {}
    assert second.errors == {"signature": ["must match the legal name."]}


@pytest.mark.parametrize(("message", "said"), [(True, ["Gold import refused: bad file."]), (False, [])])
def test_without_a_form_the_refusal_is_a_message_unless_the_page_shows_it_itself(message: bool,
                                                                                 said: list[str]) -> None:
    request = _request()
    outcome = run_service(request, lambda: _refuse("bad file."), refused="Gold import refused: ", message=message)
    assert outcome.error.message == "bad file."
    assert [str(m) for m in get_messages(request)] == said


def test_other_errors_are_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        run_service(_request(), lambda: 1 / 0)
