"""config.wsgi, the entry point gunicorn loads in each worker: every view is imported and what start-up loaded is
frozen out of the cyclic collector's reach, so a full collection during a request scans only what requests left."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import gc, sys
from config.wsgi import application
frozen = gc.get_freeze_count()
print(frozen, 'annotations.views' in sys.modules, 'payroll.views' in sys.modules, 'portal.views' in sys.modules)
"""


def test_the_wsgi_entry_point_imports_the_views_and_freezes_what_start_up_loaded() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    frozen, *imported = done.stdout.split()
    assert imported == ["True", "True", "True"], done.stdout
    # Django, DRF, the apps and their views: well over 100,000 objects (about 240,000 measured).
    assert int(frozen) > 100_000, done.stdout
