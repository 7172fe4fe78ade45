"""Label Studio's URL map, read from the installed package, and a concrete path for each of its routes."""
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = Path(os.environ.get("LABELCREW_CACHE", Path.home() / ".cache" / "labelcrew"))
# Values for the named groups of Label Studio's routes; `ids` (pk, task_id...) come from the caller.
SAMPLE = {"path": "x.js", "sub_path": "x", "url": "x", "object_id": "1", "app_label": "users", "token": "x",
          "key": "x", "filename": "x.jpg", "entity_name": "task", "content_type_id": "1", "queue_index": "0",
          "job_id": "x", "scheduler_index": "0", "action_id": "x", "id": "1"}
GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)(?P<optional>\?)?")


@cache
def label_studio_routes() -> tuple[str, ...]:
    """Every route regex of the installed Label Studio, dumped by its own virtualenv's python."""
    venvs = sorted(CACHE.glob("label-studio-1.23.2-*/bin/python"))
    assert venvs, f"no Label Studio virtualenv under {CACHE}: run ./run install"
    done = subprocess.run([str(venvs[-1]), str(REPO_ROOT / "scripts" / "labelstudio_routes.py")], cwd="/tmp",
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.label_studio"},
                          capture_output=True, text=True, timeout=120, check=True)
    return tuple(json.loads(done.stdout))


def sample_path(route: str, ids: dict[str, str] | None = None) -> str:
    """A path that Label Studio's `route` matches, with `ids` for its id groups (pk, task_id, ...)."""
    values = {**SAMPLE, "pk": "1", "project_id": "1", "task_id": "1", "annotation_id": "1", "user_pk": "1",
              "export_pk": "1", "import_pk": "1", "reimport_pk": "1", **(ids or {})}

    def group(match: re.Match) -> str:
        if match["name"] == "format":
            return ".json" if match["body"].startswith("\\.") else "json"
        return values.get(match["name"], "1")

    path = GROUP.sub(group, route)
    path = re.sub(r"/\?$", "/", path).replace("/?", "/")
    path = path.replace("\\", "")
    path = re.sub(r"\?", "", path)
    assert re.fullmatch(route, path), f"sample {path!r} does not match Label Studio's route {route!r}"
    return "/" + path
