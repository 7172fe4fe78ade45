"""Deep or huge JSON is a 400 naming the problem everywhere JSON comes in: the bounded parser itself, DRF's endpoints
(contractor and staff), the Label Studio webhook, the gold JSON import and the pre-annotation imports."""
import json
import logging
import time
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.test import APIClient

from annotations.models import ImportFormat, ImportKind, ImportState, Job
from annotations.quality import json_bounded
from annotations.quality.preannotations import PreannotationError, coco_categories, masks_from_labelstudio
from annotations.services import client_import
from annotations.services.gold import gold_import
from common.errors import DomainError
from common.json_input import JSON_MAX_BYTES, JSON_MAX_DEPTH, JSONInputError, json_depth, json_loads_bounded
from common.parsers import BoundedJSONParser
from tests.factories import contractor_in_state, job_plain, staff_user
from workforce.models import OnboardingState

DEEP = "[" * 100_000 + "]" * 100_000  # 200 kB: json.loads raises RecursionError on it
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
NESTING = "nested deeper than 64 levels"
WEBHOOK_SECRET = "test-webhook-secret-" + "y" * 20


# --- the parser ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT])
def test_plain_json_loads_raises_recursion_error_on_these_bodies(text: str) -> None:
    with pytest.raises(RecursionError):
        json.loads(text)


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT, DEEP.encode(), DEEP.encode("utf-16")])
def test_a_100000_deep_document_is_refused_naming_the_nesting(text: str | bytes) -> None:
    with pytest.raises(JSONInputError) as refused:
        json_loads_bounded(text, what="body")
    assert refused.value.status == 400
    assert refused.value.message == "body: JSON nested deeper than 64 levels (100,000 levels)."


def test_depth_64_parses_and_65_is_refused() -> None:
    assert json_loads_bounded("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    with pytest.raises(JSONInputError, match=r"nested deeper than 64 levels \(65 levels\)"):
        json_loads_bounded("[" * 65 + "]" * 65)
    assert JSON_MAX_DEPTH == 64


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ('"[[[["', 0), ('["]]]]"]', 1), ('{"a": [{"b": "x\\"[["}]}', 3), ('["\\\\", [[]]]', 3),
    ('["é[{", ["\\ud800]"]]', 2), ("[[], [], [[]]]", 3), ('"\\"[" [[', 2),
])
def test_depth_counts_brackets_outside_strings_only(text: str, depth: int) -> None:
    assert json_depth(text) == depth
    assert json_bounded.depth(text) == depth  # the quality core's own copy agrees


def test_strings_full_of_brackets_are_data_not_nesting() -> None:
    document = {"note": "[" * 10_000, "more": ["}" * 500, {"k": "\\[" * 300}]}
    assert json_loads_bounded(json.dumps(document)) == document


def test_size_encoding_and_syntax_are_named() -> None:
    with pytest.raises(JSONInputError, match=r"^document: JSON over 0.5 MB \(600,001 bytes\)\.$"):
        json_loads_bounded(b"[" + b"1," * 300_000, max_bytes=2**19, field="document")
    with pytest.raises(JSONInputError, match="not UTF-8, UTF-16 or UTF-32 text"):
        json_loads_bounded(b'["\xff\xfe\xfa"]')
    with pytest.raises(JSONInputError, match=r"^document: not JSON \(Expecting"):
        json_loads_bounded("{not json", field="document")
    assert JSON_MAX_BYTES == 10 * 2**20


def test_the_depth_check_is_linear_and_cheap_on_a_large_flat_document() -> None:
    text = json.dumps([{"label": "x[{\"", "points": [[i, i + 1] for i in range(20)]} for i in range(20_000)])
    started = time.perf_counter()
    assert json_depth(text) == 4
    spent = time.perf_counter() - started
    assert spent < 1.0, f"{len(text) / 1e6:.1f} MB counted in {spent:.2f} s"


def test_the_quality_core_refuses_deep_json_as_bad_input_without_django() -> None:
    with pytest.raises(json_bounded.JSONTooDeep, match=NESTING):
        json_bounded.loads(DEEP.encode())
    with pytest.raises(PreannotationError, match=f"^export.json: JSON {NESTING}"):
        list(masks_from_labelstudio(DEEP.encode(), file="export.json", locate=lambda d, w: None, classes=[]))
    with pytest.raises(PreannotationError, match=f"^client.json: JSON {NESTING}"):
        coco_categories(DEEP_OBJECT.encode(), file="client.json")


# --- over HTTP: no 500 and no traceback anywhere ------------------------------------------------------------

@pytest.fixture
def no_error_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


def api_for(user: object) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _refused_as_json(response: object) -> str:
    assert response.status_code == 400, response.content[:300]
    detail = response.json()["detail"]
    assert NESTING in detail
    return detail


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [
    ("patch", "/api/v1/me/"),  # its own parser_classes
    ("post", "/api/v1/payroll/me/time-entries/"),
    ("post", "/api/v1/payroll/me/timer/"),
    ("post", "/api/v1/me/agreements/accept/"),
])
def test_contractor_endpoints_answer_400_naming_the_nesting(method: str, url: str, no_error_logged) -> None:
    client = api_for(contractor_in_state(OnboardingState.ACTIVE).user)
    response = getattr(client, method)(url, data=DEEP, content_type="application/json")
    assert _refused_as_json(response) == "body: JSON nested deeper than 64 levels (100,000 levels)."


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/console/batches/{batch}/assign/", "/api/v1/payroll/adjustments/",
                                 "/api/v1/contractors/bulk-decide/", "/api/v1/payroll/pay-runs/"])
def test_staff_endpoints_answer_400_naming_the_nesting(url: str, no_error_logged) -> None:
    job = job_plain()
    batch = job.batches.create(number=1)
    client = api_for(staff_user())
    _refused_as_json(client.post(url.format(batch=batch.pk), data=DEEP_OBJECT, content_type="application/json"))


@pytest.mark.django_db
def test_a_huge_body_is_refused_by_its_size_naming_the_limit(no_error_logged) -> None:
    client = api_for(contractor_in_state(OnboardingState.ACTIVE).user)
    body = '{"note": "' + "x" * (3 * 2**20) + '"}'
    response = client.post("/api/v1/payroll/me/time-entries/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == ("body: over 2.5 MB, the limit of a request body "
                                         "(DATA_UPLOAD_MAX_MEMORY_SIZE).")


def test_the_parser_bounds_the_size_too_when_django_s_limit_is_lifted() -> None:
    with pytest.raises(ParseError, match=r"^body: JSON over 10 MB"):
        BoundedJSONParser().parse(BytesIO(b"[" + b"1," * (JSON_MAX_BYTES // 2) + b"1]"))


@pytest.mark.django_db
def test_ordinary_json_still_reaches_the_serializer(no_error_logged) -> None:
    client = api_for(contractor_in_state(OnboardingState.ACTIVE).user)
    response = client.post("/api/v1/payroll/me/time-entries/", data={"batch": 999999}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"start", "end"}  # parsed, then validated field by field
    assert client.post("/api/v1/payroll/me/time-entries/", data='{"start": NaN}',
                       content_type="application/json").json()["detail"].startswith("body: not JSON (NaN")


def test_no_api_view_parses_json_with_drf_s_unbounded_parser() -> None:
    """Every DRF view's JSON parser is the bounded one (a view's own parser_classes included)."""
    def views(patterns: list) -> list:
        found = []
        for entry in patterns:
            if isinstance(entry, URLResolver):
                found += views(entry.url_patterns)
            elif isinstance(entry, URLPattern) and hasattr(entry.callback, "cls"):
                found.append(entry.callback.cls)
        return found

    api_views = views(get_resolver().url_patterns)
    assert len(api_views) > 40
    unbounded = [v.__name__ for v in api_views
                 for parser in v().get_parsers() if isinstance(parser, JSONParser)
                 and not isinstance(parser, BoundedJSONParser)]
    assert unbounded == []


@pytest.mark.django_db
def test_the_webhook_with_its_secret_answers_400_naming_the_nesting(client: Client, no_error_logged) -> None:
    with override_settings(LABEL_STUDIO_WEBHOOK_SECRET=WEBHOOK_SECRET):
        response = client.post("/webhooks/label-studio/", data=DEEP, content_type="application/json",
                               HTTP_X_LABELCREW_WEBHOOK_SECRET=WEBHOOK_SECRET)
        assert _refused_as_json(response) == "webhook body: JSON nested deeper than 64 levels (100,000 levels)."
        response = client.post("/webhooks/label-studio/", data="{nope", content_type="application/json",
                               HTTP_X_LABELCREW_WEBHOOK_SECRET=WEBHOOK_SECRET)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("webhook body: not JSON")


@pytest.mark.django_db
def test_the_gold_json_import_refuses_deep_json_by_the_service_and_the_console(no_error_logged) -> None:
    job = job_plain()
    with pytest.raises(JSONInputError) as refused:
        gold_import(job=job, document=DEEP.encode())
    assert (refused.value.field, refused.value.message) == (
        "document", "document: JSON nested deeper than 64 levels (100,000 levels).")
    client = Client()
    client.force_login(staff_user())
    response = client.post(f"/console/jobs/{job.pk}/gold-import/",
                           {"export": SimpleUploadedFile("export.json", DEEP.encode(), "application/json")})
    assert response.status_code in (200, 302, 400)
    page = client.get(response["Location"]).content.decode() if response.status_code == 302 \
        else response.content.decode()
    assert NESTING in page


@pytest.mark.django_db
@pytest.mark.parametrize(("fmt", "name", "kind"), [
    (ImportFormat.LABEL_STUDIO, "export.json", ImportKind.PREDICTIONS),
    (ImportFormat.LABEL_STUDIO, "gold.json", ImportKind.GOLD),
    (ImportFormat.COCO, "client.json", ImportKind.PREDICTIONS),
])
def test_pre_annotation_and_gold_imports_fail_naming_the_nesting(fmt: str, name: str, kind: str,
                                                                   no_error_logged) -> None:
    job: Job = job_plain()
    token = client_import.import_upload_store(job=job, name=name, chunks=[DEEP_OBJECT.encode()])
    path = client_import.import_upload_path(job=job, token=token)
    try:
        if fmt == ImportFormat.COCO:
            with pytest.raises(DomainError, match=f"^file: client.json: JSON {NESTING}"):
                client_import.import_upload_categories(job=job, token=token)
        run = client_import.preannotations_import(job=job, upload_path=path, fmt=fmt, kind=kind, actor=None,
                                                  category_map={} if fmt == ImportFormat.COCO else None)
        run = client_import.import_run_execute(run_id=run.pk)
        assert run.state == ImportState.FAILED
        assert run.error == f"{name}: JSON {NESTING} (100,000 levels)."
    finally:
        client_import.import_upload_discard(job=job, token=token)
