"""The contractor's side in their language: the catalogs are complete, the page's language follows the contractor's
choice, else the browser, else English; Arabic is laid out right to left; emails go out in the contractor's language."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.test.signals import setting_changed
from django.utils import translation

from tests.factories import contractor_in_state, contractor_signed_in, job_plain, staff_user
from workforce import onboarding
from workforce.models import Contractor, OnboardingState
from workforce.selectors.profile import PROFILE_FIELDS
from workforce.services.profile import contractor_ui_language_set

S = OnboardingState
LOCALE = Path(settings.LOCALE_PATHS[0])
TRANSLATED = [code for code, _ in settings.LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|\{(\w+)\}")


def _catalog_path(code: str) -> Path:
    return LOCALE / translation.to_locale(code) / "LC_MESSAGES" / "django.po"


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """The .mo files are built at install (./run); a bare pytest run builds them here, then drops cached catalogs."""
    call_command("compilemessages", locale=[translation.to_locale(code) for code in TRANSLATED], verbosity=0)
    setting_changed.send(sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=False)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_and_keeps_its_placeholders(code: str) -> None:
    with _catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=translation.to_locale(code))
    assert not catalog.fuzzy, f"{code}: the header is fuzzy"
    messages = [m for m in catalog if m.id]
    assert len(messages) > 250  # every contractor page, form, message and email
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert not message.fuzzy, f"{code}: fuzzy {ids[0]!r}"
        assert all(s.strip() for s in strings), f"{code}: untranslated {ids[0]!r}"
        expected = set().union(*(_placeholders(i) for i in ids))
        found = set().union(*(_placeholders(s) for s in strings))
        assert found == expected, f"{code}: {ids[0]!r} has placeholders {found}, not {expected}"
        if len(ids) == 1:
            assert _placeholders(strings[0]) == expected
        if "%%" in ids[-1]:
            assert all("%%" in s for s in strings), f"{code}: a literal percent sign lost in {ids[0]!r}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_language_is_known_to_django_with_its_own_name(code: str) -> None:
    info = translation.get_language_info(code)
    assert info["name_local"]
    assert info["code"] == code
    assert translation.check_for_language(code)


@pytest.mark.django_db
def test_a_spanish_browser_gets_the_job_page_and_the_signup_page_in_spanish() -> None:
    job_plain(name="Smartphone screen defect annotation", listed=True)  # the front door leads to its page
    client = Client(headers={"accept-language": "es-VE,es;q=0.9,en;q=0.5"})
    job = client.get("/", follow=True).content.decode()
    assert '<html lang="es" dir="ltr">' in job
    assert "Anotación de defectos en pantallas de teléfonos" in job
    assert "Postúlate ahora" in job
    assert "Apply now" not in job
    signup = client.get("/accounts/signup/").content.decode()
    assert '<html lang="es"' in signup
    assert "Iniciar sesión" in signup
    assert "Sign in" not in signup
    english = Client().get("/", follow=True).content.decode()  # no preference at all: English
    assert '<html lang="en" dir="ltr">' in english
    assert "Apply now" in english


@pytest.mark.django_db
def test_a_tagalog_browser_gets_filipino() -> None:
    for asked in ("tl", "tl-PH", "fil-PH"):
        page = Client(headers={"accept-language": asked}).get("/", follow=True).content.decode()
        assert '<html lang="fil"' in page
        assert "Mag-apply na" in page


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left() -> None:
    page = Client(headers={"accept-language": "ar-EG"}).get("/", follow=True).content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    client, _ = contractor_signed_in("amal@example.org")
    dashboard = client.get("/dashboard/", headers={"accept-language": "ar"}).content.decode()
    assert 'dir="rtl"' in dashboard


@pytest.mark.django_db
def test_the_selector_saves_the_choice_on_the_profile_and_it_wins_over_the_browser() -> None:
    client, contractor = contractor_signed_in("chosen@example.org")
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/dashboard/"},
                           headers={"accept-language": "es"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    contractor.refresh_from_db()
    assert contractor.ui_language == "fr"
    assert '<html lang="fr"' in client.get("/dashboard/", headers={"accept-language": "es"}).content.decode()
    # Another device with another browser language: signing in brings the saved choice back.
    other = Client(headers={"accept-language": "es"})
    other.force_login(contractor.user)
    page = other.get("/pay/").content.decode()
    assert '<html lang="fr"' in page
    assert "Heures et paie" in page
    # Signed out, the browser's language is used again.
    assert '<html lang="es"' in Client(headers={"accept-language": "es"}).get("/jobs/").content.decode()


@pytest.mark.django_db
def test_the_selector_refuses_a_language_labelcrew_does_not_have() -> None:
    client, contractor = contractor_signed_in("klingon@example.org")
    client.post("/i18n/setlang/", {"language": "tlh", "next": "/dashboard/"})
    contractor.refresh_from_db()
    assert contractor.ui_language == ""


@pytest.mark.django_db
def test_staff_pages_stay_english_whatever_the_browser_asks() -> None:
    staff = Client(headers={"accept-language": "es"})
    staff.force_login(staff_user(email="boss@example.org"))
    page = staff.get("/staff/applicants/").content.decode()
    assert '<html lang="en"' in page
    assert 'data-testid="language-form"' not in page


@pytest.mark.django_db
def test_signing_up_in_spanish_sends_the_verification_email_in_spanish_and_keeps_the_language() -> None:
    cache.clear()  # allauth keeps its rate-limit and email cool-down counters in the cache
    client = Client(headers={"accept-language": "es"})
    response = client.post("/accounts/signup/", {"email": "lucia@example.org", "password1": "una-clave-larga-9",
                                                 "password2": "una-clave-larga-9"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "Confirm" not in mail.outbox[0].subject
    assert "correo" in mail.outbox[0].subject.lower()
    assert Contractor.objects.get(user__email="lucia@example.org").ui_language == "es"


@pytest.mark.django_db(transaction=True)
def test_a_state_email_goes_out_in_the_contractors_language() -> None:
    spanish = contractor_in_state(S.QUALIFYING)
    contractor_ui_language_set(contractor=spanish, language="es")
    english = contractor_in_state(S.QUALIFYING)
    mail.outbox.clear()
    with translation.override("ar"):  # the staff member's request language must not leak into the email
        onboarding.transition(contractor=spanish, to_state=S.REJECTED, reason="máscaras poco precisas")
        onboarding.transition(contractor=english, to_state=S.REJECTED, reason="masks too coarse")
    to_spanish, to_english = mail.outbox
    assert to_spanish.subject == "LabelCrew: tu solicitud"
    assert "Motivo: máscaras poco precisas" in to_spanish.body
    assert "Hola Ana," in to_spanish.body
    assert to_english.subject == "LabelCrew: your application"
    assert "Reason: masks too coarse" in to_english.body


@pytest.mark.django_db
def test_the_dashboard_names_missing_profile_items_in_plain_words_and_greets_by_name_only_once_known() -> None:
    client, _ = contractor_signed_in("fresh@example.org")
    page = client.get("/dashboard/").content.decode()
    missing = re.search(r'data-testid="missing">(.*?)</p>', page, re.S).group(1)
    for name in (*PROFILE_FIELDS, "tax_declaration"):  # the raw names with an underscore, and "timezone"
        assert "_" not in name or name not in missing
    assert "timezone" not in missing
    assert "time zone" in missing
    assert "legal name" in missing
    assert "tax self-certification" in missing
    assert "Welcome to LabelCrew" in page
    assert "fresh@example.org</h1>" not in page
    spanish = client.get("/dashboard/", headers={"accept-language": "es"}).content.decode()
    assert "nombre legal" in spanish
    named = contractor_in_state(S.ACTIVE, display_name="Mei")
    named_client = Client()
    named_client.force_login(named.user)
    assert "<h1>Hello, Mei</h1>" in named_client.get("/dashboard/").content.decode()


@pytest.mark.django_db
def test_a_refusal_on_the_pay_page_has_no_field_prefix() -> None:
    client, _ = contractor_signed_in("weeks@example.org")
    page = client.get("/pay/?week=2026-W60").content.decode()
    alert = re.search(r'<p class="errorlist" role="alert">(.*?)</p>', page, re.S).group(1)
    assert not alert.startswith("week:")
    assert "2026-W60" in alert


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "heading", "required"), [
    ("hi", "साइन अप", "यह भरना ज़रूरी है।"),
    ("sw", "Jisajili", "Sehemu hii inahitajika"),
    ("fil", "Mag-sign up", "Kailangan ang field na ito."),
])
def test_signup_is_translated_where_allauth_and_django_ship_no_catalog(code: str, heading: str, required: str) -> None:
    cache.clear()
    client = Client(headers={"accept-language": code})
    assert heading in client.get("/accounts/signup/").content.decode()
    refused = client.post("/accounts/signup/", {"email": "", "password1": "", "password2": ""}).content.decode()
    assert required in refused
    assert "This field is required." not in refused


@pytest.mark.django_db
@pytest.mark.parametrize("code", TRANSLATED)
def test_every_contractor_page_renders_in_each_language(code: str) -> None:
    contractor = contractor_in_state(S.ACTIVE)
    contractor_ui_language_set(contractor=contractor, language=code)
    client = Client()
    client.force_login(contractor.user)
    for url in ("/dashboard/", "/pay/", "/quality/", "/profile/", "/agreements/", "/privacy/", "/jobs/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{code}"' in response.content.decode(), url
