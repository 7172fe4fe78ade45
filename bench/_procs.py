"""Process helpers shared by the benchmarks that start servers of their own (gunicorn, a Celery worker)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def stop_process_group(process: subprocess.Popen, *, grace: float = 30) -> None:
    """Stop a process started with start_new_session=True and all its children: SIGTERM to the group,
    then SIGKILL if it has not exited within `grace` seconds. A process already gone is left alone."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:  # it exited between poll() and killpg()
        process.wait()


def celery_worker_start(*, queues: str, concurrency: int, env: dict[str, str], log: Path, cwd: Path,
                        name: str) -> subprocess.Popen:
    """A `celery worker` on `queues` started in its own session (stop it with stop_process_group), once it answers
    a ping; SystemExit pointing at `log` when it does not within 60 s. Django must be set up (the app pings it)."""
    from config.celery import app  # once Django is set up on the benchmark's database

    node = f"{name}-{os.getpid()}@localhost"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--concurrency",
             str(concurrency), "--hostname", node, "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[node], timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process_group(process)
            raise SystemExit(f"the worker did not start; see {log}")
    return process
