"""./run demo: migrate, make a sample job, start Label Studio, a worker, beat and the web app.

Prints a short timestamped progress (every step's own output goes to var/log/demo.log), then the URLs and logins,
then waits. Ctrl-C (or SIGTERM) at any moment stops everything it started, without a traceback: its stop handler is
installed before anything starts, every step runs in a session of its own (a Ctrl-C in the terminal reaches only
this script, which then ends the step) and Label Studio and the gateway are stopped by their scripts.
"""
import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("LABELCREW_VAR_DIR", ROOT / "var"))
LOGS = VAR / "log"
DEMO_LOG = LOGS / "demo.log"
STAFF_EMAIL = "staff@labelcrew.local"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Seconds a process gets to end on SIGTERM before it is killed.
GRACE = 20


class Interrupted(BaseException):
    """Raised by the stop handler wherever the script is; a BaseException so no `except Exception` swallows it."""


def log(message: str) -> None:
    """One line of progress on the terminal, with the time; the same line in the demo's log."""
    line = f"[demo {datetime.now().astimezone():%H:%M:%S}] {message}"
    print(line, flush=True)
    _detail(line)


def _detail(line: str) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(DEMO_LOG, "a") as out:
        out.write(line + "\n")


class Started:
    """Everything this run started, so the stop handler ends exactly that: the step running now (a process group
    of its own), the long-lived processes, and Label Studio and the gateway (stopped by their scripts)."""

    def __init__(self) -> None:
        self.step: subprocess.Popen | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.services: list[str] = []  # "labelstudio", "gateway": their scripts' start was called

    def popen(self, argv: list[str], out: IO) -> subprocess.Popen:
        """Start `argv` in a session of its own. The stop signals are held while it starts, so a process is
        always recorded before the handler can look for it; the child unblocks them before it runs (a blocked
        mask is inherited across exec: Label Studio, gunicorn and Celery then ignored SIGTERM and were stopped
        only by SIGKILL after GRACE each, 80 s for a Ctrl-C)."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_stop_signals_unblocked)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop_all(self) -> None:
        """End what was started: the processes (SIGTERM, then SIGKILL after GRACE), then the gateway and Label
        Studio by their scripts; quiet, bounded, and deaf to a second Ctrl-C meanwhile."""
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)  # also when the run ended on its own (an error)
        running = [p for p in [self.step, *self.processes.values()] if p is not None and p.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for service in reversed(self.services):
            LOGS.mkdir(parents=True, exist_ok=True)
            with open(DEMO_LOG, "a") as out:
                subprocess.run([str(ROOT / "scripts" / service), "stop"], cwd=ROOT, stdout=out, stderr=out,
                               stdin=subprocess.DEVNULL, check=False)
        if running or self.services:
            log("all stopped")


def _stop_signals_unblocked() -> None:
    """In the child, between fork and exec (this script runs no other thread)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(process.pid, signum)


def _stop_requested(signum: int, _frame: object) -> None:
    # Only the first signal interrupts: a second Ctrl-C while stopping must not raise into the clean-up.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


class StepFailed(Exception):
    pass


def step(started: Started, what: str, argv: list[str]) -> None:
    """Run one setup command to its end, its output in the demo's log; StepFailed names it and where to look."""
    _detail(f"--- {what}: {' '.join(argv)}")
    with open(DEMO_LOG, "a") as out:
        started.step = started.popen(argv, out)
        code = started.step.wait()
        started.step = None
    if code:
        tail = DEMO_LOG.read_text(errors="replace").splitlines()[-5:]
        raise StepFailed(f"{what} failed (exit {code}); its last lines, from {DEMO_LOG}:\n  " + "\n  ".join(tail))


def manage(started: Started, *args: str) -> None:
    step(started, f"manage.py {args[0]}", [sys.executable, "manage.py", *args])


def service_start(started: Started, service: str) -> None:
    """scripts/<service> start; recorded first, so an interruption while it starts still stops it."""
    started.services.append(service)
    step(started, f"scripts/{service} start", [str(ROOT / "scripts" / service), "start"])


def _shown(path: Path) -> str:
    """The path from the checkout when it is inside it (var/sample), else in full."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def demo_password_file(name: str) -> Path:
    """A random password made on the first run and kept in var/ (mode 600), never in the repository."""
    path = VAR / f"demo-{name}-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path


def sample_is_current(sample: Path, images: int, width: int, height: int, seed: int) -> bool:
    manifest = sample / "manifest.json"
    if not manifest.exists():
        return False
    data = json.loads(manifest.read_text())
    return (len(data["tasks"]), data["width"], data["height"], data["seed"]) == (images, width, height, seed)


def last_ended_week() -> str:
    """The ISO name of the pay week (Monday 00:00 to Monday 00:00 UTC) that ended last, e.g. 2026-W47."""
    today = datetime.now(UTC).date()
    year, week, _ = (today - timedelta(days=today.weekday() + 7)).isocalendar()
    return f"{year}-W{week:02d}"


def start(started: Started, name: str, argv: list[str]) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{name}.log", "ab") as out:
        started.processes[name] = started.popen(argv, out)
    log(f"started {name} (pid {started.processes[name].pid}, log {LOGS / f'{name}.log'})")


def wait_for(url: str, seconds: float) -> bool:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    return False


def main() -> int:
    # First of all: from here on a stop signal ends what has been started, and nothing has been yet.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _stop_requested)
    started = Started()
    try:
        return run(started)
    except Interrupted as stop:
        log(f"{stop} received: stopping what was started")
        return 130 if str(stop) == "SIGINT" else 143
    except StepFailed as failure:
        log(f"error: {failure}")
        return 1
    finally:
        started.stop_all()


def run(started: Started) -> int:
    import httpx

    parser = argparse.ArgumentParser(prog="./run demo", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the real job: 200 photos of 5472x3648 (~1 GB, minutes)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABELCREW_PORT", "8000")))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    images, width, height = (200, 5472, 3648) if args.full else (12, 1368, 912)
    VAR.mkdir(parents=True, exist_ok=True)
    _detail(f"=== ./run demo {' '.join(sys.argv[1:])} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    # The small and the full sample live apart, so neither job's photos are overwritten by the other's.
    sample = VAR / ("sample-full" if args.full else "sample")
    os.environ["SAMPLE_JOB_DIR"] = str(sample)

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/labelcrew")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("REDIS_URL", os.environ["CELERY_BROKER_URL"])
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{args.port}")
    # Emails (the signup verification link among them) land as files a demo user can open.
    os.environ.setdefault("EMAIL_FILE_PATH", str(VAR / "mail"))
    os.environ.setdefault("LABEL_STUDIO_WEBHOOK_SECRET", demo_password_file("webhook-secret").read_text().strip())
    # Label Studio's and the gateway's data, env files and photos under this run's var/ (LABELCREW_VAR_DIR).
    ls_data = Path(os.environ.setdefault("LABEL_STUDIO_DATA_DIR", str(VAR / "labelstudio")))
    ls_env_file = Path(os.environ.setdefault("LABEL_STUDIO_ENV_FILE", str(VAR / "labelstudio.env")))
    os.environ.setdefault("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(VAR))
    os.environ.setdefault("GATEWAY_DIR", str(VAR / "gateway"))
    gateway_env_file = Path(os.environ.setdefault("GATEWAY_ENV_FILE", str(VAR / "gateway.env")))

    log(f"starting Label Studio (first start ~30 s; details in {DEMO_LOG})")
    service_start(started, "labelstudio")
    # The gateway (nginx) in front of Label Studio asks the web app about every request; contractors' links go
    # through it. Its env file gives the app the public Label Studio URL and the shared secret.
    os.environ.setdefault("GATEWAY_APP", f"127.0.0.1:{args.port}")
    log("starting the gateway")
    service_start(started, "gateway")
    log("migrating the database")
    manage(started, "migrate", "--noinput", "-v", "0")
    manage(started, "collectstatic", "--noinput", "-v", "0")
    staff_password_file = demo_password_file("staff")
    staff_password = staff_password_file.read_text().strip()
    manage(started, "ensure_staff_user", "--email", STAFF_EMAIL, "--password-file", str(staff_password_file))
    if sample_is_current(sample, images, width, height, args.seed):
        log(f"sample job already in {sample} ({images} x {width}x{height})")
    else:
        log(f"writing the sample job: {images} photos of {width}x{height}")
        manage(started, "make_sample_job", "--images", str(images), "--width", str(width), "--height", str(height),
               "--seed", str(args.seed), "--out", str(sample))
    client = VAR / ("client-full" if args.full else "client")
    manage(started, "make_client_files", "--sample", str(sample), "--out", str(client))
    crew_password_file = demo_password_file("contractor")
    log("loading the demo job and its crew into Label Studio")
    manage(started, "load_demo_job", "--batch-size", "2", "--password-file", str(crew_password_file))
    pay_week = last_ended_week()
    log(f"loading 50 demo contractors' hours for {pay_week}")
    manage(started, "load_demo_workforce", "--contractors", "50", "--week", pay_week, "--seed", str(args.seed))

    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    queues = "default,labelstudio,scoring,payroll"
    start(started, "worker", [*celery, "worker", "--queues", queues, "--concurrency", "2", "--loglevel", "INFO"])
    start(started, "beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", str(VAR / "celerybeat")])
    start(started, "web", [python, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
                           "--workers", "3", "--access-logfile", "-"])

    web = f"http://127.0.0.1:{args.port}"
    if not wait_for(f"{web}/", 60):
        log(f"error: the web app did not come up; see {LOGS / 'web.log'}")
        return 1
    ls_env = dict(line.split("=", 1) for line in ls_env_file.read_text().splitlines() if line)
    gateway_env = dict(line.split("=", 1) for line in gateway_env_file.read_text().splitlines() if line)
    ls_password = (ls_data / "admin-password").read_text().strip()
    # The worker takes a few seconds to join; report the services once they all answer (or after 60 s).
    deadline = time.monotonic() + 60
    health = httpx.get(f"{web}/healthz", timeout=10).json()
    while health["down"] and time.monotonic() < deadline:
        time.sleep(1)
        health = httpx.get(f"{web}/healthz", timeout=10).json()
    print(f"""
LabelCrew is running ({"all services up" if not health["down"] else "DOWN: " + ", ".join(health["down"])}).
  Job page       {web}/            apply here; emails (verification links) are files in var/mail/
  Applicants     {web}/staff/applicants/
  Staff admin    {web}/admin/      login {STAFF_EMAIL} / {staff_password}  (role admin: the first staff page asks
                 to set up a second factor with an authenticator app - TOTP - and shows recovery codes; other staff get
                 a role with `manage.py staff_role_grant EMAIL operations|reviewer|payroll|admin`)
  API docs       {web}/api/docs/
  Health         {web}/healthz
  Label Studio   {gateway_env["LABEL_STUDIO_PUBLIC_URL"]}/   through the gateway: contractors are signed in from their
                 dashboard's links; staff sign in to LabelCrew, then there as admin@labelcrew.local / {ls_password}
                 (Label Studio itself, {ls_env["LABEL_STUDIO_URL"]}, is on loopback for the app's API calls only)
  Console        {web}/console/
  Sample job     {_shown(sample)}/ ({images} photos of {width}x{height}, gold masks, pre-annotations)
  Client's job   {web}/console/jobs/new/  "An uploaded ZIP of photos": {_shown(client)}/client-photos.zip,
                 pre-annotations {_shown(client)}/client-coco.json (COCO); map its categories, and the
                 batches are published with the client's predictions; deliver from the job page when all is accepted
  Demo crew      demo-contractor-N@labelcrew.local (N = 1..6) / {crew_password_file.read_text().strip()}
                 active, assigned, some work synced; the gold photos they labelled are scored by the worker
  Overlap job    the console's "... 3 annotators per photo" job: 4 photos each labelled by 3 of the crew and
                 handed in; agreement per photo on its page (least agreed first), "Accept the merged mask" in
                 review, then Deliver: the ZIP carries the merged masks and the report their agreement
  Quality        {web}/quality/          a contractor's scores and overlays (demo-contractor-2 rubber-stamps)
                 {web}/console/quality/  staff: weakest first, per-class weaknesses, rubber-stamp flags
  Payroll        {web}/console/payroll/?week={pay_week}   50 demo contractors' timesheets (demo-contractor-1..50):
                 approve, run the pay run, then the statements and payout files
  Export         {web}/console/payroll/weeks/{pay_week}/export.csv (or export.xlsx)
Logs in {LOGS}/. Press Ctrl-C to stop everything.
""", flush=True)
    while True:
        for name, process in started.processes.items():
            if process.poll() is not None:
                log(f"error: {name} exited with {process.returncode}; see {LOGS / f'{name}.log'}")
                return 1
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
