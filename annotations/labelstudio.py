"""The only module that talks to Label Studio: a configured SDK client with timeouts and retries.

Every call goes through `call()`, which retries connection errors and 5xx answers with
exponential backoff and turns what is left into one exception, `LabelStudioUnavailable`.
"""
import base64
import binascii
import logging
import re
import time
import zlib
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import httpx
from django.conf import settings
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from common.json_input import JSONInputError, json_loads_bounded

logger = logging.getLogger(__name__)
T = TypeVar("T")
# The header our webhooks carry the shared secret in: set on each project's webhook, checked by
# annotations.views.label_studio_webhook.
WEBHOOK_SECRET_HEADER = "X-LabelCrew-Webhook-Secret"  # noqa: S105 - a header name, not a secret


class LabelStudioUnavailable(Exception):
    """Label Studio could not be reached or answered with a server error."""


class LabelStudioNotConfigured(LabelStudioUnavailable):
    """LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY are not set."""


def is_configured() -> bool:
    return bool(settings.LABEL_STUDIO_URL and settings.LABEL_STUDIO_API_KEY)


@cache
def _client(base_url: str, api_key: str, timeout: float) -> LabelStudio:
    # Retries are ours (call()), so the SDK's own are off: one policy, one place.
    return LabelStudio(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


def client() -> LabelStudio:
    if not is_configured():
        raise LabelStudioNotConfigured("Label Studio is not configured: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY.")
    return _client(settings.LABEL_STUDIO_URL, settings.LABEL_STUDIO_API_KEY, settings.LABEL_STUDIO_TIMEOUT)


def call(operation: Callable[[LabelStudio], T], *, what: str, attempts: int = 3, backoff: float = 0.5) -> T:
    """Run `operation(client)`, retrying transient failures; `what` names it in the error."""
    ls = client()
    for attempt in range(1, attempts + 1):
        try:
            return operation(ls)
        except httpx.TransportError as exc:
            reason = f"cannot reach {settings.LABEL_STUDIO_URL} ({exc.__class__.__name__})"
        except ApiError as exc:
            if exc.status_code is None or exc.status_code < 500:
                raise
            reason = f"server error HTTP {exc.status_code}"
        if attempt < attempts:
            logger.warning("Label Studio %s failed (%s); retry %d of %d", what, reason, attempt, attempts - 1)
            time.sleep(backoff * 2 ** (attempt - 1))
    raise LabelStudioUnavailable(f"Label Studio unavailable while trying to {what}: {reason}.")


def server_version() -> str:
    """The running server's release, e.g. '1.23.2'."""
    return call(lambda ls: ls.versions.get().release, what="read its version", attempts=1)


# --- projects and tasks ---------------------------------------------------------------

def project_ensure(*, title: str, label_config: str, instructions: str) -> int:
    """The id of the project with this title, made if there is none: a retried call makes no second one."""
    def find(ls: LabelStudio) -> int | None:
        return next((p.id for p in ls.projects.list(title=title, page_size=100) if p.title == title), None)

    existing = call(find, what=f"look up project {title!r}")
    if existing is not None:
        return existing
    created = call(
        lambda ls: ls.projects.create(title=title, label_config=label_config, expert_instruction=instructions,
                                      show_instruction=True, maximum_annotations=1),
        what=f"create project {title!r}", attempts=1,  # a retried create could make a twin; ensure() re-runs
    )
    return created.id


def local_storage_ensure(*, project_id: int, path: str) -> None:
    """Let the project serve photos from `path`: Label Studio serves a local file only to projects
    with a local storage covering it. No sync: tasks are imported with their own data."""
    def ensure(ls: LabelStudio) -> None:
        if not any(st.path == path for st in ls.import_storage.local.list(project=project_id)):
            ls.import_storage.local.create(project=project_id, path=path, title="LabelCrew photos",
                                           use_blob_urls=False, synchronizable=False)

    call(ensure, what=f"connect local storage {path} to project {project_id}", attempts=1)


def project_task_ids_by_ref(*, project_id: int, ref_field: str) -> dict[str, int]:
    """Label Studio task ids of a project, keyed by the LabelCrew reference stored in their data."""
    def read(ls: LabelStudio) -> dict[str, int]:
        return {str(t.data[ref_field]): t.id for t in ls.tasks.list(project=project_id, page_size=500)
                if ref_field in (t.data or {})}

    return call(read, what=f"list the tasks of project {project_id}")


def tasks_import(*, project_id: int, tasks: list[dict]) -> None:
    call(lambda ls: ls.projects.import_tasks(id=project_id, request=tasks), what=f"import tasks into {project_id}",
         attempts=1)


def prediction_create(*, ls_task_id: int, result: list[dict], model_version: str) -> int:
    """Add a prediction to an existing task; returns its id. Not retried: a retried create could add a twin."""
    return call(lambda ls: ls.predictions.create(task=ls_task_id, result=result, model_version=model_version).id,
                what=f"add a prediction to task {ls_task_id}", attempts=1)


def project_delete(*, project_id: int) -> None:
    call(lambda ls: ls.projects.delete(id=project_id), what=f"delete project {project_id}")


# --- users ----------------------------------------------------------------------------

def user_ensure(*, email: str, first_name: str, last_name: str, password: str) -> int:
    """The id of the Label Studio user with this email, made (with this password) if missing."""
    def find(ls: LabelStudio) -> int | None:
        return next((u.id for u in ls.users.list() if (u.email or "").lower() == email.lower()), None)

    existing = call(find, what=f"look up user {email}")
    if existing is not None:
        return existing
    created = call(
        lambda ls: ls.users.create(email=email, username=email, first_name=first_name, last_name=last_name,
                                   password=password),
        what=f"create user {email}", attempts=1,
    )
    return created.id


# --- annotations and webhooks ---------------------------------------------------------

def annotations_of_project(*, project_id: int) -> list[dict]:
    """Every submitted annotation of the project's tasks, as Label Studio serializes them (drafts excluded)."""
    def read(ls: LabelStudio) -> list[dict]:
        found = []
        for task in ls.tasks.list(project=project_id, fields="all", page_size=100):
            for annotation in task.annotations or []:
                row = dict(annotation) if isinstance(annotation, dict) else annotation.model_dump()
                row["task"] = row.get("task") or task.id
                found.append(row)
        return found

    return call(read, what=f"read the annotations of project {project_id}")


def webhook_ensure(*, project_id: int, url: str, secret: str, actions: list[str]) -> int:
    """The id of the project's webhook to `url`, made or updated to send `actions` with our secret header."""
    headers = {WEBHOOK_SECRET_HEADER: secret}

    def ensure(ls: LabelStudio) -> int:
        existing = next((w for w in ls.webhooks.list(project=str(project_id)) if w.url == url), None)
        if existing is None:
            return ls.webhooks.create(url=url, project=project_id, send_payload=True, send_for_all_actions=False,
                                      actions=actions, headers=headers, is_active=True).id
        ls.webhooks.update(existing.id, url=url, send_payload=True, send_for_all_actions=False,
                           actions=actions, headers=headers, is_active=True)
        return existing.id

    return call(ensure, what=f"register the webhook of project {project_id}", attempts=1)


def user_signup(*, email: str, password: str) -> int | None:
    """Make a user with a password through the organization's invite link; None if the email is taken.

    The open-source API ignores `password` when it creates or updates a user (its serializer has
    no such field), so the invite-link signup form is the one way to give a user a password.
    """
    base = settings.LABEL_STUDIO_URL

    def signup(ls: LabelStudio) -> bool:
        invite = httpx.get(f"{base}/api/invite", timeout=settings.LABEL_STUDIO_TIMEOUT,
                           headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"})
        invite.raise_for_status()
        url = f"{base}/user/signup/?token={invite.json()['token']}"
        with httpx.Client(timeout=settings.LABEL_STUDIO_TIMEOUT) as browser:
            form = browser.get(url)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            if token is None:
                raise httpx.TransportError("Label Studio's signup page has no CSRF token")
            answer = browser.post(url, headers={"Referer": url}, data={
                "csrfmiddlewaretoken": token.group(1), "email": email, "password": password})
        if answer.status_code >= 500:
            raise ApiError(status_code=answer.status_code, body=answer.text[:200])
        return answer.status_code == 302  # a form shown again means the email is taken

    if not call(signup, what=f"sign up user {email}", attempts=1):
        return None
    return call(lambda ls: next(u.id for u in ls.users.list() if (u.email or "").lower() == email.lower()),
                what=f"look up user {email}")


# --- the gateway: sessions and the owners of objects named in a URL -----------------------------

# Label Studio's own session cookie (Django's default name, which LabelCrew's cookies no longer share).
SESSION_COOKIE = "sessionid"


def session_open(*, email: str, password: str) -> str:
    """Sign in to Label Studio as this user, server to server; the value of its session cookie.

    The contractor's browser then gets this cookie from the gateway's host (annotations.views.label_studio_sign_in),
    so nobody types the Label Studio password. Raises LabelStudioUnavailable when Label Studio refuses the sign-in.
    """
    base = settings.LABEL_STUDIO_URL

    def sign_in(ls: LabelStudio) -> str:
        url = f"{base}/user/login/"
        with httpx.Client(timeout=settings.LABEL_STUDIO_TIMEOUT) as browser:
            form = browser.get(url)
            if form.status_code >= 500:
                raise ApiError(status_code=form.status_code, body=form.text[:200])
            token = browser.cookies.get("csrftoken")
            answer = browser.post(url, headers={"Referer": url}, data={
                "csrfmiddlewaretoken": token or "", "email": email, "password": password, "persist_session": "on"})
            if answer.status_code >= 500:
                raise ApiError(status_code=answer.status_code, body=answer.text[:200])
            session = answer.cookies.get(SESSION_COOKIE) or browser.cookies.get(SESSION_COOKIE)
        if answer.status_code != 302 or not session:
            raise LabelStudioUnavailable(f"Label Studio refused the sign-in of {email} (HTTP {answer.status_code}).")
        return session

    return call(sign_in, what=f"sign in {email}", attempts=2)


def _get_json(path: str) -> dict | None:
    """GET an API path with the service token; None on 404 (a missing object refuses the request)."""
    def read(ls: LabelStudio) -> dict | None:
        answer = httpx.get(f"{settings.LABEL_STUDIO_URL}{path}", timeout=settings.LABEL_STUDIO_TIMEOUT,
                           headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"})
        if answer.status_code == 404:
            return None
        if answer.status_code >= 500:
            raise ApiError(status_code=answer.status_code, body=answer.text[:200])
        answer.raise_for_status()
        return answer.json()

    return call(read, what=f"read {path}", attempts=1)


def annotation_owner(*, annotation_id: int) -> tuple[int, int | None] | None:
    """(task id, user id of completed_by) of an annotation; None if there is no such annotation."""
    found = _get_json(f"/api/annotations/{annotation_id}/")
    if found is None:
        return None
    by = found.get("completed_by")
    return int(found["task"]), (by.get("id") if isinstance(by, dict) else by)


def draft_owner(*, draft_id: int) -> tuple[int, int | None] | None:
    """(task id, user id) of a draft; None if there is no such draft."""
    found = _get_json(f"/api/drafts/{draft_id}/")
    return None if found is None else (int(found["task"]), found.get("user"))


def view_project(*, view_id: int) -> int | None:
    """The project of a data-manager view (tab); None if there is no such view."""
    found = _get_json(f"/api/dm/views/{view_id}/")
    return None if found is None else int(found["project"])


def user_deactivate(*, ls_user_id: int) -> bool:
    """Take the user out of the organization (a soft delete of its membership): Label Studio then refuses them
    every project and API. The open-source edition has no `is_active` in its API and no way back, so LabelCrew
    does this only for good (offboarded, deleted, rejected); a pause is enforced by the gateway alone. True if done.
    """
    def deactivate(ls: LabelStudio) -> bool:
        headers = {"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"}
        me = httpx.get(f"{settings.LABEL_STUDIO_URL}/api/current-user/whoami", headers=headers,
                       timeout=settings.LABEL_STUDIO_TIMEOUT)
        me.raise_for_status()
        org = me.json()["active_organization"]
        answer = httpx.delete(f"{settings.LABEL_STUDIO_URL}/api/organizations/{org}/memberships/{ls_user_id}/",
                              headers=headers, timeout=settings.LABEL_STUDIO_TIMEOUT)
        if answer.status_code >= 500:
            raise ApiError(status_code=answer.status_code, body=answer.text[:200])
        return answer.status_code == 204

    return call(deactivate, what=f"deactivate user {ls_user_id}")


def session_user_id(cookie: str) -> int | None:
    """The Label Studio user a `sessionid` cookie names, read without asking Label Studio; None if it names none.

    Label Studio keeps its sessions in signed cookies (Django's signed_cookies engine: base64 of zlib-compressed JSON,
    then a timestamp and a signature), re-signed on most requests. The signature is Label Studio's to check (with its
    SECRET_KEY) and it does so on the same request: a forged cookie is an anonymous visitor there, so the gateway
    only needs to know whose session the cookie claims to be, and refuses it when that is not the contractor's.
    """
    payload = cookie.split(":", 1)[0]
    compressed = payload.startswith(".")
    try:
        data = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
        # Bounded: a forged cookie of deeply nested JSON is no session, not a RecursionError.
        session = json_loads_bounded(zlib.decompress(data) if compressed else data, max_bytes=2**20)
        return int(session["_auth_user_id"])
    except (ValueError, KeyError, TypeError, zlib.error, binascii.Error, JSONInputError):
        return None
