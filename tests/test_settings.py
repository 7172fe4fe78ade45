"""Settings: the embedded defaults, the real services from the environment, production mode."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "redis_url": settings.REDIS_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "use_tz": settings.USE_TZ,
    "time_zone": settings.TIME_ZONE,
    "label_studio_url": settings.LABEL_STUDIO_URL,
    "label_studio_api_key": settings.LABEL_STUDIO_API_KEY,
}))
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Only what a newcomer's shell would have: no service URLs, var/ in a fresh folder.
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
            "LABELCREW_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "config.settings", **extra}


def _settings(tmp_path: Path, **extra: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=_clean_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_no_environment_runs_embedded_on_sqlite_with_eager_celery(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "var" / "labelcrew.sqlite3")
    assert s["eager"] is True
    assert s["redis_url"] == ""
    assert s["cache"].endswith("LocMemCache")
    assert s["email"] == "django.core.mail.backends.console.EmailBackend"
    assert s["debug"] is False  # on only for the development server
    assert (s["use_tz"], s["time_zone"]) == (True, "UTC")
    assert s["label_studio_url"] == ""


def test_environment_switches_to_postgresql_redis_and_label_studio(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/labelcrew",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        LABEL_STUDIO_URL="http://127.0.0.1:9999/",
        LABEL_STUDIO_API_KEY="k" * 40,
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["db_name"] == "labelcrew"
    assert s["eager"] is False
    assert s["broker"] == "redis://127.0.0.1:6379/3"
    assert s["redis_url"] == "redis://127.0.0.1:6379/3"
    assert s["cache"].endswith("RedisCache")
    assert s["label_studio_url"] == "http://127.0.0.1:9999"


def test_label_studio_env_file_is_read_but_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "labelstudio.env").write_text(
        "LABEL_STUDIO_URL=http://127.0.0.1:8123\nLABEL_STUDIO_API_KEY=fromfile\n")
    assert _settings(tmp_path)["label_studio_url"] == "http://127.0.0.1:8123"
    s = _settings(tmp_path, LABEL_STUDIO_API_KEY="fromenv")
    assert s["label_studio_api_key"] == "fromenv"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_secret_key_or_allowed_hosts(tmp_path: Path, missing: str) -> None:
    env = _clean_env(tmp_path, DJANGO_ENV="production", SECRET_KEY="x" * 64, ALLOWED_HOSTS="crew.example.com")
    del env[missing]
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert missing in done.stderr


def test_production_refuses_a_short_or_default_secret_key(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, DJANGO_ENV="production", SECRET_KEY="short", ALLOWED_HOSTS="crew.example.com")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "at least 50 characters" in done.stderr


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, DJANGO_ENV="production", SECRET_KEY="p3-" + "a1B2c3D4e5" * 6,
                     ALLOWED_HOSTS="crew.example.com")
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_labelcrew_cookies_are_named_apart_from_label_studios(tmp_path: Path) -> None:
    """Label Studio (Django too) uses `sessionid` and `csrftoken`; cookies ignore the port, so sharing the names
    signed contractors out of LabelCrew whenever they signed in to Label Studio on the same host."""
    probe = ("import json, django; from django.conf import settings; django.setup(); "
             "print(json.dumps([settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME]))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=_clean_env(tmp_path),
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == ["labelcrew_session", "labelcrew_csrftoken"]
