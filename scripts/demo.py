"""./run demo: migrate, make a sample job, start Label Studio, a worker, beat and the web app.

Prints the URLs and logins, then waits; Ctrl-C (or SIGTERM) stops everything it started.
"""
import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOGS = VAR / "log"
STAFF_EMAIL = "staff@labelcrew.local"


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def manage(*args: str) -> None:
    if subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=False).returncode:
        subprocess.run([str(ROOT / "scripts" / "gateway"), "stop"], check=False)
        subprocess.run([str(ROOT / "scripts" / "labelstudio"), "stop"], check=False)
        raise SystemExit(f"[demo] error: manage.py {args[0]} failed (its message is above); nothing else was started")


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


def start(name: str, argv: list[str]) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{name}.log", "ab") as out:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    log(f"started {name} (pid {process.pid}, log var/log/{name}.log)")
    return process


def wait_for(url: str, seconds: float) -> bool:
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
    parser = argparse.ArgumentParser(prog="./run demo", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the real job: 200 photos of 5472x3648 (~1 GB, minutes)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABELCREW_PORT", "8000")))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    images, width, height = (200, 5472, 3648) if args.full else (12, 1368, 912)
    VAR.mkdir(exist_ok=True)
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

    subprocess.run([str(ROOT / "scripts" / "labelstudio"), "start"], check=True)
    # The gateway (nginx) in front of Label Studio asks the web app about every request; contractors' links go
    # through it. Its env file gives the app the public Label Studio URL and the shared secret.
    os.environ.setdefault("GATEWAY_APP", f"127.0.0.1:{args.port}")
    subprocess.run([str(ROOT / "scripts" / "gateway"), "start"], check=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    staff_password_file = demo_password_file("staff")
    staff_password = staff_password_file.read_text().strip()
    manage("ensure_staff_user", "--email", STAFF_EMAIL, "--password-file", str(staff_password_file))
    if sample_is_current(sample, images, width, height, args.seed):
        log(f"sample job already in {sample.relative_to(ROOT)} ({images} x {width}x{height})")
    else:
        manage("make_sample_job", "--images", str(images), "--width", str(width), "--height", str(height),
               "--seed", str(args.seed), "--out", str(sample))
    client = VAR / ("client-full" if args.full else "client")
    manage("make_client_files", "--sample", str(sample), "--out", str(client))
    crew_password_file = demo_password_file("contractor")
    manage("load_demo_job", "--batch-size", "2", "--password-file", str(crew_password_file))
    pay_week = last_ended_week()
    manage("load_demo_workforce", "--contractors", "50", "--week", pay_week, "--seed", str(args.seed))

    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    queues = "default,labelstudio,scoring,payroll"
    processes = {
        "worker": start("worker", [*celery, "worker", "--queues", queues, "--concurrency", "2", "--loglevel", "INFO"]),
        "beat": start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", str(VAR / "celerybeat")]),
        "web": start("web", [python, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
                             "--workers", "3", "--access-logfile", "-"]),
    }

    def stop_all(*_: object) -> None:
        for name, process in processes.items():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                log(f"stopping {name}")
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run([str(ROOT / "scripts" / "gateway"), "stop"], check=False)
        subprocess.run([str(ROOT / "scripts" / "labelstudio"), "stop"], check=False)
        log("all stopped")
        sys.exit(0)

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    web = f"http://127.0.0.1:{args.port}"
    if not wait_for(f"{web}/", 60):
        log("the web app did not come up; see var/log/web.log")
        stop_all()
    ls_env = dict(line.split("=", 1) for line in (VAR / "labelstudio.env").read_text().splitlines() if line)
    gateway_env = dict(line.split("=", 1) for line in (VAR / "gateway.env").read_text().splitlines() if line)
    ls_password = (VAR / "labelstudio" / "admin-password").read_text().strip()
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
  Sample job     {sample.relative_to(ROOT)}/ ({images} photos of {width}x{height}, gold masks, pre-annotations)
  Client's job   {web}/console/jobs/new/  "An uploaded ZIP of photos": {client.relative_to(ROOT)}/client-photos.zip,
                 pre-annotations {client.relative_to(ROOT)}/client-coco.json (COCO); map its categories, and the
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
Logs in var/log/. Press Ctrl-C to stop everything.
""", flush=True)
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                log(f"{name} exited with {process.returncode}; see var/log/{name}.log")
                stop_all()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
