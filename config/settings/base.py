"""Settings read from the environment in one place.

With no environment at all LabelCrew runs embedded: SQLite under var/, Celery eager,
email to the console. DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, LABEL_STUDIO_URL and
LABEL_STUDIO_API_KEY switch it to the real services. var/labelstudio.env, written by
scripts/labelstudio when it starts the local Label Studio, is read too; variables that
are already set in the environment win over it.
"""
import sys
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.conf.locale import LANG_INFO

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
VAR_DIR = Path(env("LABELCREW_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
LABEL_STUDIO_ENV_FILE = Path(env("LABEL_STUDIO_ENV_FILE", default=str(VAR_DIR / "labelstudio.env")))
if LABEL_STUDIO_ENV_FILE.is_file():
    environ.Env.read_env(LABEL_STUDIO_ENV_FILE, overwrite=False)
# Written by scripts/gateway when it starts: the public Label Studio URL (the gateway) and its shared secret.
GATEWAY_ENV_FILE = Path(env("GATEWAY_ENV_FILE", default=str(VAR_DIR / "gateway.env")))
if GATEWAY_ENV_FILE.is_file():
    environ.Env.read_env(GATEWAY_ENV_FILE, overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-not-for-production")
# On for the development server only; gunicorn and the tests run with DEBUG off.
DEBUG = env.bool("DJANGO_DEBUG", default=len(sys.argv) > 1 and sys.argv[1] == "runserver")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Label Studio (a Django app too) calls its cookies `sessionid` and `csrftoken`, and cookies ignore the port:
# with Django's default names, signing in to Label Studio on the same host signed the contractor out of here.
SESSION_COOKIE_NAME = "labelcrew_session"
CSRF_COOKIE_NAME = "labelcrew_csrftoken"
# The gateway in front of Label Studio identifies contractors by this session cookie, so it must reach the
# gateway's host: on one host (127.0.0.1, any port) it does by itself; on two sub-domains set the parent domain.
SESSION_COOKIE_DOMAIN = env("SESSION_COOKIE_DOMAIN", default=None)
CSRF_COOKIE_DOMAIN = env("CSRF_COOKIE_DOMAIN", default=None)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.mfa",  # staff's second factor: TOTP and recovery codes (common.roles: required for payroll and admin)
    "django_countries",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files (no CDN)
    "django_filters",
    "django_celery_beat",
    "workforce",
    "annotations",
    "payroll",
    "portal",
    "demo",  # on top: its commands make demo data through the other apps' services
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the language cookie (set by the selector), else Accept-Language, else English;
    # a signed-in contractor's saved choice wins (workforce.middleware, after authentication).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "workforce.middleware.ContractorLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'labelcrew.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "workforce.User"

SITE_ID = 1
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
# A second factor for staff (allauth.mfa, at /accounts/2fa/): an authenticator app's codes, and recovery codes for
# a lost phone. common.decorators sends payroll and admin staff without one to set it up.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "LabelCrew"
LOGIN_REDIRECT_URL = "portal:dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "LabelCrew: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
# Rate limits (allauth, kept in the cache: Redis when configured). Failed logins are
# limited per address and per IP; signups per IP.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env("RATE_LIMIT_SIGNUP", default="10/h/ip"),
    "login": env("RATE_LIMIT_LOGIN", default="30/m/ip"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# Contractor pages, forms and emails are translated (locale/, terms fixed in locale/glossary.md); staff pages
# stay English. Django ships no locale for Filipino: LANG_INFO gets its entry here so get_language_info works,
# and browsers asking for Tagalog ("tl", "tl-PH") fall back to it.
LANG_INFO.setdefault("fil", {"bidi": False, "code": "fil", "name": "Filipino", "name_local": "Filipino"})
LANG_INFO.setdefault("tl", {"fallback": ["fil"]})
LANG_INFO.setdefault("tl-ph", {"fallback": ["fil"]})
LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("pt-br", "Brazilian Portuguese"),
    ("fr", "French"),
    ("hi", "Hindi"),
    ("id", "Indonesian"),
    ("fil", "Filipino"),
    ("ar", "Arabic"),
    ("zh-hans", "Simplified Chinese"),
    ("sw", "Swahili"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "labelcrew_language"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Redis, cache and Celery -------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
REDIS_URL = env("REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# No broker configured: run tasks in-process so a newcomer sees everything work at once.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# A task is acknowledged after it ran, so a worker lost mid-task hands it to another;
# the visibility timeout must outlast the longest job (re-scoring a 200 x 20 MP job).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_QUEUES_ALL = ("default", "labelstudio", "scoring", "payroll")
# Routes match in order: the scoring and re-score fan-out tasks belong with the scoring work,
# every other annotations task talks to Label Studio.
CELERY_TASK_ROUTES = {
    "annotations.tasks.score_*": {"queue": "scoring"},
    "annotations.tasks.rescore_*": {"queue": "scoring"},
    # Writing a delivery is work on files, not on Label Studio: any worker may take it.
    "annotations.tasks.delivery_*": {"queue": "default"},
    # So is making a job from a ZIP of photos (unpacking and checking up to gigabytes).
    "annotations.tasks.create_job_from_zip": {"queue": "default"},
    "annotations.tasks.*": {"queue": "labelstudio"},
    "payroll.tasks.*": {"queue": "payroll"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat copies these into its database schedule on start; staff can change them in the admin.
CELERY_BEAT_SCHEDULE = {
    "sync-label-studio": {"task": "annotations.tasks.sync_label_studio", "schedule": 120.0},
    "reclaim-stale-batches": {"task": "annotations.tasks.reclaim_stale_batches", "schedule": 600.0},
    # Monday 00:00 UTC closes the pay week that just ended; the task is idempotent, so the hourly
    # catch-up run only does something when the Monday run was missed.
    "close-pay-weeks": {"task": "payroll.tasks.close_pay_weeks", "schedule": crontab(minute=0)},
}

# --- Label Studio ------------------------------------------------------------------
LABEL_STUDIO_URL = env("LABEL_STUDIO_URL", default="").rstrip("/")
LABEL_STUDIO_API_KEY = env("LABEL_STUDIO_API_KEY", default="")
LABEL_STUDIO_TIMEOUT = env.float("LABEL_STUDIO_TIMEOUT", default=10.0)
# What contractors' browsers open: the gateway (scripts/gateway) in front of Label Studio, which asks
# /gateway/decide about every request. LABEL_STUDIO_URL stays the internal address the app's API calls use.
LABEL_STUDIO_PUBLIC_URL = env("LABEL_STUDIO_PUBLIC_URL", default=LABEL_STUDIO_URL).rstrip("/")
# Seconds the gateway's decision keeps who a session is and what they hold (state changes clear it at once).
GATEWAY_DECISION_CACHE_SECONDS = env.int("GATEWAY_DECISION_CACHE_SECONDS", default=5)
# The gateway sends it in X-LabelCrew-Gateway; /gateway/decide answers nobody else (none set: it answers no one).
GATEWAY_SECRET = env("GATEWAY_SECRET", default="")
# Fernet key (urlsafe base64, 32 bytes) for the few secrets shown again later; derived from SECRET_KEY if unset.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
# Label Studio's webhooks carry this in X-LabelCrew-Webhook-Secret; with none set every call is refused.
LABEL_STUDIO_WEBHOOK_SECRET = env("LABEL_STUDIO_WEBHOOK_SECRET", default="")

# --- Email ---------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
if env("EMAIL_FILE_PATH", default=""):  # each email a file in this folder (the demo uses var/mail)
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="LabelCrew <no-reply@labelcrew.local>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- REST API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    # JSON nested deeper than 64 levels or over 10 MB is a 400 naming the problem (common.json_input).
    "DEFAULT_PARSER_CLASSES": ["common.parsers.BoundedJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Every endpoint: one budget per signed-in user at the staff or the contractor rate, anonymous callers by
    # address at a lower one (common.api.RoleRateThrottle); counted in the cache, Redis when REDIS_URL is set.
    "DEFAULT_THROTTLE_CLASSES": ["common.api.RoleRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "staff": env("API_THROTTLE_STAFF", default="600/min"),
        "contractor": env("API_THROTTLE_CONTRACTOR", default="120/min"),
        "anon": env("API_THROTTLE_ANON", default="30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LabelCrew API",
    "DESCRIPTION": "Contractors, batches, hours, pay and quality for image-annotation work.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs pages are for staff of any role only (config/urls.py); the pages load their scripts from
    # drf-spectacular-sidecar's static files, so they work without internet and call no CDN.
    "SERVE_PERMISSIONS": ["common.permissions.AnyStaffRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several choice sets share a field name ("state", "decision"): each gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "BatchStateEnum": "annotations.models.BatchState",
        "DeliveryStateEnum": "annotations.models.DeliveryState",
        "ReviewDecisionEnum": "annotations.api.REVIEW_DECISIONS",
        "StateEnum": "workforce.models.OnboardingState",  # the name it had before the others came
    },
}

# The job advertised on the public pages until jobs are managed in the console.
DEFAULT_HOURLY_RATE_USD = "2.00"
DEFAULT_WEEKLY_CAP_HOURS = 20

# --- Payroll -----------------------------------------------------------------------
# A timesheet is flagged for the reviewer when its logged hours exceed Label Studio's active
# time by this factor, or when it has no annotation at all.
PAYROLL_FLAG_FACTOR = Decimal(env.str("PAYROLL_FLAG_FACTOR", default="1.5"))
# Statements below this amount pay nothing and carry it to the contractor's next pay run.
PAYROLL_MINIMUM_PAYOUT = Decimal(env.str("PAYROLL_MINIMUM_PAYOUT", default="0"))
PAYROLL_MAX_ENTRY_HOURS = 12
# Time may be logged this many minutes before taking a batch and after handing it in or losing it (clocks differ,
# a timer is stopped a little late); beyond that an entry is refused.
TIME_ENTRY_GRACE_MINUTES = env.int("TIME_ENTRY_GRACE_MINUTES", default=30)
PAYROLL_CURRENCY = "USD"
# The sample job (python manage.py make_sample_job); the job page shows defect close-ups from it.
SAMPLE_JOB_DIR = Path(env("SAMPLE_JOB_DIR", default=str(VAR_DIR / "sample")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # One line per Label Studio request drowns everything else; failures are logged by annotations.labelstudio.
    "loggers": {"httpx": {"level": "WARNING"}},
}

# --- Quality -------------------------------------------------------------------------
# A contractor's rolling score is the mean macro IoU over their latest N scored gold tasks.
QUALITY_ROLLING_WINDOW = env.int("QUALITY_ROLLING_WINDOW", default=20)
# Qualification passes at this mean over the round's photos (or, for an applicant without a round, over at
# least QUALITY_QUALIFICATION_TASKS scored gold tasks). Staff decide on approval unless AUTO_APPROVE is on.
QUALITY_QUALIFICATION_PASS = env.float("QUALITY_QUALIFICATION_PASS", default=0.6)
QUALITY_QUALIFICATION_TASKS = env.int("QUALITY_QUALIFICATION_TASKS", default=3)
QUALITY_QUALIFICATION_AUTO_APPROVE = env.bool("QUALITY_QUALIFICATION_AUTO_APPROVE", default=False)
# An applicant's qualification batch is due this long after it opens (it is never reclaimed).
QUALIFICATION_ROUND_HOURS = env.int("QUALIFICATION_ROUND_HOURS", default=7 * 24)
# An active contractor whose rolling score over at least this many tasks falls below it is paused.
QUALITY_PAUSE_BELOW = env.float("QUALITY_PAUSE_BELOW", default=0.4)
QUALITY_PAUSE_MIN_TASKS = env.int("QUALITY_PAUSE_MIN_TASKS", default=5)
QUALITY_BOUNDARY_TOLERANCE_PX = env.float("QUALITY_BOUNDARY_TOLERANCE_PX", default=2.0)
QUALITY_INSTANCE_MATCH_IOU = env.float("QUALITY_INSTANCE_MATCH_IOU", default=0.5)
QUALITY_OVERLAY_MAX_SIDE = env.int("QUALITY_OVERLAY_MAX_SIDE", default=2048)
# Decoded gold kept per worker process: one 20 MP gold of a few classes is ~20 MB per class.
QUALITY_GOLD_CACHE_SIZE = env.int("QUALITY_GOLD_CACHE_SIZE", default=8)
# An imported gold file (a Label Studio export, or a ZIP of PNG masks and what its files unpack to) weighs at
# most this; a ZIP holds at most this many files. A PNG is also refused by Pillow's decompression-bomb guard,
# and no mask is decoded unless its header gives the photo's size.
GOLD_IMPORT_MAX_BYTES = env.int("GOLD_IMPORT_MAX_BYTES", default=256 * 1024 * 1024)
GOLD_IMPORT_MAX_FILES = env.int("GOLD_IMPORT_MAX_FILES", default=10_000)
# A new job's photos uploaded as one ZIP (200 photos of 20 MP weigh about 2 GB).
PHOTOS_UPLOAD_MAX_BYTES = env.int("PHOTOS_UPLOAD_MAX_BYTES", default=8 * 1024**3)
PHOTOS_UPLOAD_MAX_FILES = env.int("PHOTOS_UPLOAD_MAX_FILES", default=5_000)
# How long a scoring write waits for a row lock before failing with a retryable error.
QUALITY_LOCK_TIMEOUT_MS = env.int("QUALITY_LOCK_TIMEOUT_MS", default=3000)

# --- Delivery to the client ------------------------------------------------------------
# The signed link staff copy for the client serves the delivery without login for this many days.
DELIVERY_LINK_DAYS = env.int("DELIVERY_LINK_DAYS", default=7)
# Photos one Celery task writes: a delivery is cut into tasks of this many, run by every worker process.
DELIVERY_PHOTOS_PER_TASK = env.int("DELIVERY_PHOTOS_PER_TASK", default=5)
DELIVERY_THUMBNAIL_MAX_SIDE = env.int("DELIVERY_THUMBNAIL_MAX_SIDE", default=480)
# A delivery not finished this long after it started is given up when staff start the next one (200 photos of 20 MP
# take about 1.5 minutes on 2 worker processes).
DELIVERY_STALE_MINUTES = env.int("DELIVERY_STALE_MINUTES", default=60)
