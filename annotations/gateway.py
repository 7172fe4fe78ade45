"""The gateway's decision: may this LabelCrew user make this request of Label Studio? Deny by default.

nginx (scripts/gateway) sends every request for Label Studio to /gateway/decide first, with the original method and
URI and the browser's cookies. Label Studio's open-source edition lets every member of the organization open every
project and export it, so this is the one place that says who sees what.

Who is asking: LabelCrew's own session cookie (`labelcrew_session`), which the browser sends to the gateway because
cookies ignore the port (and, on two sub-domains, because SESSION_COOKIE_DOMAIN names the parent). We chose it over
asking Label Studio whose `sessionid` it is because it costs no call to Label Studio, it knows at once when LabelCrew
closes an account (Label Studio knows nothing of pauses), and it is what the contractor signed in with. The Label
Studio session must then be the same person's: LabelCrew opens it for them (views.label_studio_sign_in, no password
typed), and a request whose Label Studio session names another user (someone else's password typed into Label
Studio's own sign-in page, a copied cookie) is sent to be signed in again as themselves.

What they may reach: ROUTES, one regex per Label Studio route (tests/annotations/test_gateway.py fails when Label
Studio's URL map has a route no entry classifies). The service token and staff whose role works in Label Studio
(operations: jobs and batches; reviewer: review and gold; admin) pass everything; payroll's role has no business
there, and staff who must have a second factor (common.roles.second_factor_missing) are refused until they set it up.
"""
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse

from annotations import labelstudio
from annotations.selectors import gateway as held
from annotations.selectors.gateway import Holding
from common.decorators import signed_in_contractor
from common.roles import OPERATE_JOBS, REVIEW_WORK, second_factor_missing, staff_role_allows

READ = frozenset({"GET", "HEAD", "OPTIONS"})
# Bumped whenever a batch or a contractor changes state: every cached holding is then stale at once.
GENERATION_KEY = "gateway:generation"
OWNER_CACHE_SECONDS = 60
# The data manager's actions a contractor may run: taking the next task to label (deleting tasks or annotations,
# turning predictions into annotations and the like are staff's).
DM_ACTIONS = frozenset({"next_task"})
# Query parameters the decision reads (a project, a tab, a photo, an action).
CHECKED_PARAMETERS = frozenset({"project", "view", "d", "id"})
# Served by the gateway itself (scripts/gateway.conf.template): the browser follows the redirect to an empty list.
EMPTY_LIST = "/_labelcrew/empty-list"


class Rule(StrEnum):
    PUBLIC = "public"            # anyone, even signed out: the health check
    ASSET = "asset"              # Label Studio's own scripts, styles and images: any signed-in user, read only
    SELF = "self"                # the user's own Label Studio settings (hotkeys, product tour)
    HOME = "home"                # project lists: the contractor goes to their LabelCrew dashboard instead
    SIGN_IN = "sign-in"          # Label Studio's sign-in page: the contractor is signed in through LabelCrew
    EMPTY = "empty"              # a list of the whole organization the UI reads (users, ML backends): [] for them
    PROJECT = "project"          # a project named in the path
    PROJECT_QUERY = "project?"   # a project named by ?project= (the data manager's calls)
    VIEW = "view"                # a data-manager tab, checked against its project
    TASK = "task"                # a task named in the path
    ANNOTATION = "annotation"    # an annotation named in the path; writes only on one's own
    DRAFT = "draft"              # a draft named in the path; writes only on one's own
    FILE = "file"                # a photo served from var/: only a task of a batch they hold or held
    DENY = "deny"                # named here so the route is known, refused to contractors


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    rule: Rule
    writes: frozenset[str] = frozenset()  # methods beyond reading, allowed only on a batch they still hold
    why: str = ""


def _r(regex: str, rule: Rule, why: str, writes: str = "") -> Route:
    return Route(re.compile(regex), rule, frozenset(writes.split()), why)


ID = r"(?P<id>[0-9]+)"
_DENIED_API = (
    "api/projects/", "api/projects/counts/", "api/projects/validate/", "api/templates/",
    "api/organizations/", "api/invite", "api/invite/reset-token", "api/webhooks/", "api/webhooks/info/",
    "api/storages/", "api/predictions/", "api/labels/", "api/labels/bulk",
    "api/token/", "api/token/blacklist/", "api/token/refresh/", "api/token/rotate/", "api/jwt/settings",
    "api/current-user/token", "api/current-user/reset-token/", "api/auth/export/", "api/session-policy/",
    "api/dm/views/reset/", "api/", "api/dm/",
)
ROUTES: tuple[Route, ...] = (
    _r(r"health/", Rule.PUBLIC, "the gateway's and Label Studio's health check"),
    _r(r"(static|react-app|label-studio-frontend|dm)/.*", Rule.ASSET, "the labeling UI's scripts and styles"),
    _r(r"(favicon\.ico|sw\.js|sw-fallback\.js|data/avatars/.*|samples/[a-z-]+\.(json|csv))", Rule.ASSET,
       "icons, the service worker, avatars and the UI's built-in samples"),
    _r(r"(api/)?version/?|heidi-tips/", Rule.ASSET, "the version and tips the UI shows"),
    _r(r"api/current-user/whoami", Rule.SELF, "who the UI is signed in as"),
    _r(r"api/current-user/(hotkeys/|product-tour)", Rule.SELF, "the user's own hotkeys and tour state",
       writes="PATCH POST"),
    _r(r"logout/?", Rule.SELF, "signing out of Label Studio", writes="POST"),
    _r(r"(projects/)?", Rule.HOME, "the list of every project: the contractor's own list is their dashboard"),
    _r(r"user/login/", Rule.SIGN_IN, "LabelCrew signs the contractor in; no Label Studio password"),
    _r(r"api/(users|ml)/", Rule.EMPTY, "the data manager lists users and ML backends: an empty list, not everyone's"),
    _r(rf"projects/{ID}/(data/)?", Rule.PROJECT, "the labeling page of a project they hold"),
    _r(rf"api/projects/{ID}/", Rule.PROJECT, "the project's settings the labeling UI reads"),
    _r(rf"api/projects/{ID}/(next/|label-stream-history/|model-versions/|summary/)", Rule.PROJECT,
       "the next task to label and the project's own counts"),
    _r(rf"api/projects/{ID}/tasks/", Rule.PROJECT, "the tasks of a project they hold"),
    _r(r"api/dm/(project|columns)/", Rule.PROJECT_QUERY, "the data manager's project and columns"),
    _r(r"api/dm/actions/", Rule.PROJECT_QUERY, "the data manager's actions: only `next_task` (Label All Tasks) runs",
       writes="POST"),
    _r(r"api/label_links/", Rule.PROJECT_QUERY, "the labels of the project's labeling config"),
    _r(r"api/dm/views/", Rule.PROJECT_QUERY, "the data manager's tabs of the project", writes="POST"),
    _r(r"api/dm/views/order/", Rule.PROJECT_QUERY, "the order of the project's tabs", writes="POST"),
    _r(rf"api/dm/views/{ID}/", Rule.VIEW, "one data-manager tab of the project", writes="PATCH PUT DELETE"),
    _r(r"api/tasks/?", Rule.PROJECT_QUERY, "the task list of the project (data manager)"),
    _r(rf"api/tasks/{ID}/", Rule.TASK, "a task of a batch they hold"),
    _r(rf"api/tasks/{ID}/annotations/", Rule.TASK, "the task's annotations; submitting one", writes="POST"),
    _r(rf"api/tasks/{ID}/(annotations/[0-9]+/)?drafts", Rule.TASK, "the task's drafts (autosave)", writes="POST"),
    _r(rf"tasks/{ID}/(presign|resolve)/", Rule.TASK, "the task's files from a storage"),
    _r(rf"api/annotations/{ID}/", Rule.ANNOTATION, "an annotation of their task; updating their own",
       writes="PATCH PUT DELETE"),
    _r(rf"api/annotations/{ID}/convert-to-draft", Rule.ANNOTATION, "turning their annotation back into a draft",
       writes="POST"),
    _r(rf"api/drafts/{ID}/", Rule.DRAFT, "their draft of a task (autosave)", writes="PATCH PUT DELETE"),
    _r(r"data/local-files/", Rule.FILE, "a photo of a task of a batch they hold or held"),
    # Known and refused to contractors: everything about other projects, exports, imports, storages, webhooks,
    # users, the organization, tokens, machine learning, administration and the server itself.
    _r("(" + "|".join(re.escape(p) for p in _DENIED_API) + ")", Rule.DENY, "not needed to label; other people's data"),
    _r(r"api/.*\.[a-z0-9]+/?|api/dm/views/?order\.[a-z0-9]+/?", Rule.DENY, "DRF's format-suffixed twins"),
    _r(r"api/(projects/[0-9]+/|tasks/[0-9]+/)(export.*|exports/.*|file-uploads|import.*|imports/.*|reimport.*|"
       r"sample-task/|summary/reset/|validate/|annotators/|tasks/bulk/|agreement/)", Rule.DENY,
       "exports, imports, settings and other annotators of a project"),
    _r(r"api/(users|organizations|predictions|labels|label_links|storages|webhooks|ml|fsm|dm/actions|import)/.*",
       Rule.DENY, "users, the organization, storages, webhooks, models, predictions by id, uploads"),
    _r(r"projects/[0-9]+/(settings/.*|data/(export|import)|presign/|resolve/)", Rule.DENY,
       "a project's settings, export and import pages"),
    _r(r"(admin|django-rq|docs|user/account|organization|people|models|api-auth)(/.*)?", Rule.DENY,
       "administration, the job queue, API docs, accounts, people and the organization"),
    _r(r"(swagger(/|\.json|\.yaml)|metrics/|trigger500/|feature-flags/|__lsa/|user/signup/|storage-data/uploaded/|"
       r"data/upload/.*|static/fonts/roboto/roboto\.css|samples/.*)", Rule.DENY,
       "the API schema, metrics, test and analytics endpoints, signup and uploaded files"),
)


def route_for(path: str) -> Route | None:
    """The first route whose pattern matches the whole path (without its leading slash); None: not classified.

    A path without its trailing slash takes the rule of the path with it: Label Studio (APPEND_SLASH) only
    redirects it there, and the redirected request is decided again."""
    path = path.lstrip("/")
    for candidate in (path, path + "/") if not path.endswith("/") else (path,):
        route = next((route for route in ROUTES if route.pattern.fullmatch(candidate)), None)
        if route is not None:
            return route
    return None


@dataclass(frozen=True)
class Decision:
    status: int                 # 204 pass, 401 send the browser to `location`, 403 refuse
    reason: str = ""
    location: str = ""


PASS = Decision(204)


def _refuse(reason: str) -> Decision:
    return Decision(403, reason)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- the cache ---------------------------------------------------------------------------------------

def holdings_changed() -> None:
    """A batch or a contractor changed state: every cached holding is stale (called after the commit)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, None)


def _holding(contractor_id: int) -> Holding:
    generation = cache.get_or_set(GENERATION_KEY, 0, None)
    key = f"gateway:holding:{generation}:{contractor_id}"
    holding = cache.get(key)
    if holding is None:
        holding = held.contractor_holding(contractor_id=contractor_id)
        cache.set(key, holding, settings.GATEWAY_DECISION_CACHE_SECONDS)
    return holding


def _owner(kind: str, object_id: int) -> tuple | None:
    """(project, Label Studio user or None, LabelCrew contractor or None) of a task, annotation, draft or view.

    A task is read from LabelCrew's own table (one indexed query). What only Label Studio knows (an annotation not
    synced yet, a draft, a data-manager tab) is asked of it once and kept a minute: Label Studio on SQLite reuses
    the ids of deleted rows, so an answer is not kept for good."""
    if kind == "task":
        project = held.task_project(ls_task_id=object_id)
        return None if project is None else (project, None, None)
    if kind == "annotation":
        synced = held.annotation_synced(ls_annotation_id=object_id)
        if synced is not None and synced[0] is not None:
            task = _owner("task", synced[0])
            return None if task is None else (task[0], None, synced[1])
    key = f"gateway:owner:{kind}:{object_id}"
    found = cache.get(key)
    if found is not None:
        return tuple(found)
    if kind == "annotation":
        answer = labelstudio.annotation_owner(annotation_id=object_id)
    elif kind == "draft":
        answer = labelstudio.draft_owner(draft_id=object_id)
    else:  # a data-manager view
        project = labelstudio.view_project(view_id=object_id)
        answer = None
        found = None if project is None else (project, None, None)
    if kind in ("annotation", "draft"):
        task = None if answer is None else _owner("task", answer[0])
        found = None if task is None else (task[0], answer[1], None)
    if found is not None:
        cache.set(key, list(found), OWNER_CACHE_SECONDS)
    return found


# --- the decision ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Asker:
    """Who sent the request, as LabelCrew's session says (cached by the session's key)."""

    signed_in: bool
    staff: bool = False  # staff whose role works in Label Studio (STAFF_PERMISSIONS), second factor in place
    contractor_id: int | None = None
    refused: str = ""  # why staff who are not `staff` here are refused


# The staff permissions that open Label Studio: running jobs and batches, and reviewing masks and gold.
STAFF_PERMISSIONS = (OPERATE_JOBS, REVIEW_WORK)


def _staff_asker(user: object) -> Asker:
    if not any(staff_role_allows(user, permission) for permission in STAFF_PERMISSIONS):
        return Asker(signed_in=True, refused="Your staff role (payroll, or none) does not open Label Studio.")
    if second_factor_missing(user):
        return Asker(signed_in=True, refused="Set up your second factor in LabelCrew first (the staff pages ask "
                                             "for it); Label Studio opens after that.")
    return Asker(signed_in=True, staff=True)


def asker_of(request: HttpRequest) -> Asker:
    """Who LabelCrew's session cookie says is asking; cached a few seconds by the session's key, so most
    decisions read no row at all."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return Asker(signed_in=False)
    key = f"gateway:asker:{digest(session_key)}"
    asker = cache.get(key)
    if asker is None:
        user = request.user  # loads the session and the user (an inactive or deleted user is anonymous)
        if not user.is_authenticated:
            asker = Asker(signed_in=False)
        elif user.is_staff:
            asker = _staff_asker(user)
        else:
            contractor = signed_in_contractor(user)
            asker = Asker(signed_in=True, contractor_id=contractor.pk if contractor is not None else None)
        cache.set(key, asker, settings.GATEWAY_DECISION_CACHE_SECONDS)
    return asker


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def decide(*, asker: Asker, method: str, uri: str, authorization: str = "", ls_session: str = "") -> Decision:
    """The gateway's answer to one request for Label Studio."""
    method = method.upper()
    parts = urlsplit(uri)
    # nginx passes the URI as the browser sent it and Label Studio (Django) routes its percent-decoded path: decide
    # on that, and refuse dot segments outright (nothing of Label Studio's needs them).
    path = unquote(parts.path)
    if any(segment in ("..", ".") for segment in path.split("/")):
        return _refuse("Paths with . or .. segments are refused.")
    parts = parts._replace(path=path)
    route = route_for(parts.path)
    if route is not None and route.rule == Rule.PUBLIC:
        return PASS
    if authorization:
        # The service token (LabelCrew's own calls, tests, scripts) passes; a user's own token never does:
        # Label Studio would act as whoever owns it.
        if authorization == f"Token {settings.LABEL_STUDIO_API_KEY}" and settings.LABEL_STUDIO_API_KEY:
            return PASS
        if not asker.staff:
            return _refuse("Label Studio API tokens are not accepted here; sign in to LabelCrew.")
    if not asker.signed_in:
        return Decision(401, "Sign in to LabelCrew first.",
                        f"{settings.SITE_URL}{reverse('account_login')}?next={reverse('portal:dashboard')}")
    if asker.staff:
        return PASS
    if asker.refused:
        return _refuse(asker.refused)
    if asker.contractor_id is None:
        return _refuse("Only LabelCrew's contractors and staff use Label Studio.")
    if route is None:
        return _refuse(f"{parts.path} is not a Label Studio address LabelCrew knows; refused.")
    holding = _holding(asker.contractor_id)
    if not holding.allowed:
        return _refuse(f"Label Studio is closed to you: {holding.why}.")
    if route.rule == Rule.ASSET:
        return PASS if method in READ else _refuse("Read only.")
    if route.rule == Rule.EMPTY:
        return Decision(401, "Contractors see no one else.", EMPTY_LIST) if method in READ else _refuse("Read only.")
    if route.rule == Rule.HOME:
        return Decision(401, "Your batches are listed on your dashboard.",
                        f"{settings.SITE_URL}{reverse('portal:dashboard')}")
    if labelstudio.session_user_id(ls_session) != holding.ls_user_id:
        # No Label Studio session, or another user's: open theirs through LabelCrew, then come back
        # (Label Studio's own sign-in page sends a signed-in user on to the project list, hence their dashboard).
        back = "/" if route.rule == Rule.SIGN_IN else parts.path + (f"?{parts.query}" if parts.query else "")
        return Decision(401, "Signing you in to Label Studio through LabelCrew.",
                        "/_labelcrew/sign-in?" + urlencode({"next": back}))
    if method not in READ and method not in route.writes:
        return _refuse(f"{method} {parts.path} is not allowed to contractors.")
    if route.rule in (Rule.SELF, Rule.SIGN_IN):
        return PASS
    if route.rule == Rule.DENY:
        return _refuse(f"{parts.path} is not open to contractors ({route.why}).")
    query = parse_qs(parts.query, keep_blank_values=True)
    if any(len(values) > 1 for name, values in query.items() if name in CHECKED_PARAMETERS):
        # Django reads the last of repeated parameters; the gateway must see the one Label Studio will use.
        return _refuse(f"Give each of {', '.join(sorted(CHECKED_PARAMETERS))} at most once.")
    return _decide_object(route, holding, asker, method, parts.path, query)


def _decide_object(route: Route, holding: Holding, asker: Asker, method: str, path: str,
                   query: dict[str, list[str]]) -> Decision:
    match = route.pattern.fullmatch(path.lstrip("/")) or route.pattern.fullmatch(path.lstrip("/") + "/")
    object_id = _int(match.groupdict().get("id")) if match else None
    author_ls, author_contractor = None, None
    if route.rule == Rule.FILE:
        photo = (query.get("d") or [""])[0]
        if method not in READ:
            return _refuse("Photos are read only.")
        # A labeling page asks for its photo again and again: the answer is kept as long as the holding's.
        key = f"gateway:photo:{cache.get(GENERATION_KEY)}:{asker.contractor_id}:{digest(photo)}"
        mine = cache.get(key)
        if mine is None:
            mine = bool(photo) and held.photo_in_projects(image_path=photo, projects=list(holding.projects))
            cache.set(key, mine, settings.GATEWAY_DECISION_CACHE_SECONDS)
        return PASS if mine else _refuse("This photo is not in a batch of yours.")
    if route.rule == Rule.PROJECT:
        project = object_id
    elif route.rule == Rule.PROJECT_QUERY:
        project = _int((query.get("project") or [""])[0])
        view = _int((query.get("view") or [""])[0])
        if project is None:
            return _refuse("Name the project (?project=ID): only your own projects are listed.")
        if view is not None and (_owner("view", view) or (None,))[0] != project:
            return _refuse("That tab belongs to another project.")
        action = (query.get("id") or [""])[0]
        if route.pattern.pattern.startswith("api/dm/actions") and method not in READ and action not in DM_ACTIONS:
            return _refuse(f"The data manager's action {action!r} is not open to contractors.")
    else:
        kind = {Rule.TASK: "task", Rule.ANNOTATION: "annotation", Rule.DRAFT: "draft", Rule.VIEW: "view"}[route.rule]
        owner = _owner(kind, object_id) if object_id is not None else None
        if owner is None:
            return _refuse(f"No {kind} {object_id} of a batch of yours.")
        project, author_ls, author_contractor = owner
    writable = holding.projects.get(project)
    if writable is None:
        return _refuse(f"Project {project} is not a batch of yours.")
    if method in READ:
        return PASS
    if not writable:
        return _refuse(f"Project {project} is handed in or closed: read only.")
    if route.rule in (Rule.ANNOTATION, Rule.DRAFT):
        mine = author_contractor == asker.contractor_id if author_contractor else author_ls == holding.ls_user_id
        if not mine:
            return _refuse("Only your own annotations and drafts can be changed.")
    return PASS
