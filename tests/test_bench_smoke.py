"""Every benchmark in bench/ still runs end to end at its --smoke size, so none rots (not timed: no timing asserted)."""
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180
TAIL = 3000

# Each benchmark and a line of the table it prints last: seeing it means the run got through to its ratios.
BENCHMARKS = {
    "agreement": "agreement + merged mask",
    "api_fuzz": "server errors found: 0",
    "cap_race": "POST rate / GET list rate:",
    "client_upload": "upload request:",
    "console_load": "slowest LabelCrew p95 / Label Studio task list p95:",
    "delivery": "delivery with overlap 3 / overlap 1:",
    "export_timesheets": "XLSX (XlsxWriter, in use)",
    "gateway": "gateway / direct (task API p95):",
    "gold_import": "PNG ZIP import again",
    "import_preannotations": "import / decode floor:",
    "job_creation": "job_create again",
    "overlay": "naive / ours:",
    "rle": "speed-up",
    "scoring": "| target | measured | met? |",
    "scoring_celery": "speed-up of Celery over serial:",
}


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-TAIL:]


def _run_smoke(script: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `python bench/<script>.py --smoke` run from the repository root."""
    process = subprocess.Popen([sys.executable, f"bench/{script}.py", "--smoke"], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # Ctrl-C, so the script's own cleanup runs: it stops the servers it started and drops its database.
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        pytest.fail(f"bench/{script}.py --smoke did not finish within {TIMEOUT} s\n"
                    f"--- stdout (tail) ---\n{_tail(stdout)}\n--- stderr (tail) ---\n{_tail(stderr)}")
    return process.returncode, stdout, stderr


def test_every_benchmark_script_is_smoke_tested() -> None:
    scripts = {path.stem for path in (REPO_ROOT / "bench").glob("*.py") if not path.name.startswith("_")}
    assert scripts == set(BENCHMARKS)


@pytest.mark.slow
@pytest.mark.parametrize(("script", "marker"), sorted(BENCHMARKS.items()))
def test_benchmark_runs_at_its_smoke_size_and_prints_its_table(script: str, marker: str) -> None:
    code, stdout, stderr = _run_smoke(script)
    shown = f"--- stdout (tail) ---\n{_tail(stdout)}\n--- stderr (tail) ---\n{_tail(stderr)}"
    assert code == 0, f"bench/{script}.py --smoke exited with {code}\n{shown}"
    assert marker in stdout, f"bench/{script}.py --smoke did not print {marker!r}\n{shown}"
