"""Process helpers shared by the benchmarks that start servers of their own (gunicorn, a Celery worker)."""
import os
import signal
import subprocess


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
