"""scripts/demo.py (./run demo) stopped mid-setup: whatever it had started (Label Studio, the gateway, the step
running) is gone, and the terminal shows timestamped progress and no traceback. Its own ports, var/ and database."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
PROGRESS = re.compile(r"^\[demo \d\d:\d\d:\d\d\] ")

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _processes_marked(marker: str) -> list[str]:
    """The live processes whose environment carries `marker`: everything the demo started inherits it, even what
    left its process group (Label Studio under setsid, nginx's daemon)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:200]}")
        except OSError:  # gone meanwhile, or a zombie
            continue
    return found


def _deaf_to_stop_signals(demo: "Demo") -> list[str]:
    """What the demo started (the processes carrying its marker but the script itself, which holds its stop signals
    for a moment around each start) whose main thread blocks SIGINT or SIGTERM: a blocked mask survives exec, so
    such a child would be stoppable only by SIGKILL."""
    deaf = []
    for line in _processes_marked(demo.marker):
        pid = line.split(":", 1)[0]
        if pid == str(demo.process.pid):
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        blocked = int(next(x for x in status.splitlines() if x.startswith("SigBlk:")).split()[1], 16)
        if blocked & (1 << (signal.SIGINT - 1) | 1 << (signal.SIGTERM - 1)):
            deaf.append(line)
    return deaf


@pytest.fixture
def demo_database() -> Iterator[str]:
    """A database of the demo's own beside the test run's, dropped afterwards."""
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/labelcrew"))
    name = f"{base.path.lstrip('/')}_demo_test"
    admin = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(base._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Demo:
    """`python scripts/demo.py` in a subprocess with its own var/, ports and database."""

    def __init__(self, var: Path, database_url: str) -> None:
        self.marker = f"LABELCREW_DEMO_TEST={uuid.uuid4().hex}"
        self.ports = {"LABEL_STUDIO_PORT": _free_port(), "GATEWAY_PORT": _free_port(), "LABELCREW_PORT": _free_port()}
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("LABEL_STUDIO_", "GATEWAY_", "DJANGO_", "PYTEST"))}
        env.update({key: str(port) for key, port in self.ports.items()}, LABELCREW_VAR_DIR=str(var),
                   DATABASE_URL=database_url, LABEL_STUDIO_START_TIMEOUT="240",
                   LABELCREW_DEMO_TEST=self.marker.split("=", 1)[1])
        self.process = subprocess.Popen([sys.executable, "scripts/demo.py"], cwd=REPO_ROOT, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if text in line:
                return
        self.stop(signal.SIGTERM)
        pytest.fail(f"the demo never printed {text!r}:\n" + "\n".join(self.lines))

    def stop(self, signum: int) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        try:
            stdout, stderr = self.process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
            pytest.fail(f"the demo did not stop within 90 s of {signal.Signals(signum).name}")
        self.lines.extend(stdout.splitlines())
        return self.process.returncode, "\n".join(self.lines), stderr


def _check_stopped_cleanly(demo: Demo, code: int, stdout: str, stderr: str, signum: int) -> None:
    assert code == 128 + signum, (code, stdout, stderr)
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert stderr.strip() == "", stderr
    assert stdout.splitlines(), stdout
    assert all(PROGRESS.match(line) for line in stdout.splitlines()), stdout
    assert stdout.splitlines()[-1].endswith("all stopped"), stdout
    deadline = time.monotonic() + 10  # nginx's workers leave a moment after their master
    while (left := _processes_marked(demo.marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == [], left
    assert [name for name, port in demo.ports.items() if _answers(port)] == []


def test_demo_stopped_during_setup_leaves_nothing_running_and_prints_no_traceback(
        tmp_path: Path, demo_database: str) -> None:
    var = tmp_path / "var"
    # SIGTERM while the database migrates: Label Studio and the gateway are up, manage.py migrate is running.
    demo = Demo(var, demo_database)
    demo.wait_for_line("migrating the database", timeout=300)
    assert _processes_marked(demo.marker)  # Label Studio, the gateway, migrate
    assert _deaf_to_stop_signals(demo) == []
    _check_stopped_cleanly(demo, *demo.stop(signal.SIGTERM), signal.SIGTERM)
    # The steps' own output went to the log, not the terminal.
    assert "[labelstudio] ready at" in (var / "log" / "demo.log").read_text()
    # Ctrl-C while Label Studio is still starting (its second start: a few seconds).
    demo = Demo(var, demo_database)
    demo.wait_for_line("starting Label Studio", timeout=30)
    time.sleep(1.5)
    _check_stopped_cleanly(demo, *demo.stop(signal.SIGINT), signal.SIGINT)
