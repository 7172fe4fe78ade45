"""scripts/labelstudio: start, health, an authenticated SDK call with the made token, stop."""
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from django.test import override_settings

from annotations import labelstudio

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "labelstudio"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script(command: str, port: int, data: Path, env_file: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABEL_STUDIO_PORT": str(port), "LABEL_STUDIO_DATA_DIR": str(data),
           "LABEL_STUDIO_ENV_FILE": str(env_file)}
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=timeout)


def _read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


@pytest.mark.labelstudio
@pytest.mark.slow
def test_script_starts_label_studio_with_a_working_token_and_stops_it(tmp_path: Path) -> None:
    port, data, env_file = _free_port(), tmp_path / "ls", tmp_path / "ls.env"
    started = _script("start", port, data, env_file)
    try:
        assert started.returncode == 0, started.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        values = _read_env_file(env_file)
        assert values["LABEL_STUDIO_URL"] == f"http://127.0.0.1:{port}"
        assert len(values["LABEL_STUDIO_API_KEY"]) == 40
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        with override_settings(LABEL_STUDIO_URL=values["LABEL_STUDIO_URL"],
                               LABEL_STUDIO_API_KEY=values["LABEL_STUDIO_API_KEY"]):
            assert labelstudio.server_version() == "1.23.2"
            me = labelstudio.call(lambda ls: ls.users.whoami(), what="read the current user")
            assert me.email == "admin@labelcrew.local"
        # The token is really checked: another one is refused.
        wrong = httpx.get(f"http://127.0.0.1:{port}/api/current-user/whoami", timeout=5,
                          headers={"Authorization": "Token " + "0" * 40})
        assert wrong.status_code == 401
        again = _script("start", port, data, env_file)
        assert again.returncode == 0
        assert "already running" in again.stderr
    finally:
        stopped = _script("stop", port, data, env_file)
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    assert _script("status", port, data, env_file).returncode == 3
    assert not (data / "server.pid").exists()


@pytest.mark.labelstudio
def test_script_refuses_a_port_taken_by_another_server_in_one_line(tmp_path: Path, label_studio: str) -> None:
    taken = int(label_studio.rsplit(":", 1)[1])
    done = _script("start", taken, tmp_path / "other", tmp_path / "other.env")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"[labelstudio] error: port {taken} is taken by another server; set LABEL_STUDIO_PORT")
