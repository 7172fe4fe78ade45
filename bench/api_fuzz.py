"""Authenticated API fuzz: schemathesis generates requests from /api/schema/ and sends them to the app (in-process,
through Django's WSGI handler) as an active contractor and as staff in the admin role with a second factor; any
5xx is a failure, printed with the request and the exception.

Run from the repository root: python bench/api_fuzz.py [--examples N] [--budget SECONDS] [--smoke]
It makes a throwaway database api_fuzz_smoke on the local PostgreSQL (dropped afterwards) and runs Celery eagerly.
Label Studio is left unconfigured, so an endpoint that must call it answers 503 "Label Studio unavailable": that is
the honest answer and is counted apart, not as a failure; every other 5xx is one.
Each operation gets N examples of valid input and N of invalid input (schemathesis' positive and negative modes)
per caller; the whole run stops starting new operations after --budget seconds (default 600).
--smoke: 2 examples per mode, a 120 s budget.
Exit code 1 when a failure was found.
"""
import argparse
import logging
import os
import secrets
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from _smoke import django_migrated, throwaway_database  # noqa: E402 - bench/, the script's own folder


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    unavailable: int = 0  # 503 from an endpoint that needs the (absent) Label Studio
    failures: dict[str, str] = field(default_factory=dict)  # "caller METHOD path" -> the first one seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="examples per operation, mode and caller")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds after which no new operation starts")
    parser.add_argument("--only", default="", help="only the operations whose label (e.g. 'POST /api/v1/me/') has this")
    parser.add_argument("--smoke", action="store_true", help="2 examples per mode, a 120 s budget")
    args = parser.parse_args()
    if args.smoke:
        args.examples, args.budget = 2, 120.0
    # This run's own Label Studio and gateway settings (none): var/'s env files are the demo's.
    os.environ.update(LABEL_STUDIO_ENV_FILE=str(REPO_ROOT / "var" / "api-fuzz-none.env"),
                      GATEWAY_ENV_FILE=str(REPO_ROOT / "var" / "api-fuzz-none.env"),
                      LABEL_STUDIO_URL="", LABEL_STUDIO_API_KEY="", DJANGO_DEBUG="false")
    with throwaway_database("api_fuzz") as url:
        django_migrated(url)
        tally = run(examples=args.examples, budget=args.budget, only=args.only)
    sys.exit(1 if tally.failures else 0)


def _callers() -> dict[str, dict[str, str]]:
    """The cookies of each caller (its session and a CSRF token, sent back as the header too): an active contractor
    holding a batch with an hour logged, and staff in the admin role with an activated authenticator (what a
    session after the code step proves)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from demo.people import demo_staff
    from demo.workforce import demo_batch_hand_over, demo_contractor_ensure, demo_job, demo_person
    from payroll.services.entries import time_entry_create
    from workforce.services.staff import staff_role_grant

    staff = demo_staff("fuzz-staff@bench.labelcrew.local")
    staff_role_grant(user=staff, role="admin")
    TOTP.activate(staff, generate_totp_secret())
    job = demo_job(staff=staff)
    contractor, _ = demo_contractor_ensure(email="fuzz-contractor@bench.labelcrew.local",
                                           member=demo_person(seed=0, n=1), staff=staff)
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=2)
    batch = demo_batch_hand_over(contractor=contractor, job=job, staff=staff, reason="api fuzz", at=start)
    time_entry_create(contractor=contractor, batch=batch, start=start, end=start + timedelta(hours=1),
                      actor=contractor.user)
    callers = {}
    for name, user in (("contractor", contractor.user), ("staff", staff)):
        client = Client()
        client.force_login(user)
        token = secrets.token_hex(16)  # an unmasked 32-character secret: Django takes it as cookie and header alike
        callers[name] = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
                         settings.CSRF_COOKIE_NAME: token}
    return callers


def run(*, examples: int, budget: float, only: str = "") -> Tally:
    import schemathesis
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import got_request_exception
    from django.test import Client
    from schemathesis import GenerationMode

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)  # the audit lines and the request log; a 5xx is collected with its traceback
    callers = _callers()
    staff_client = Client()
    staff_client.cookies.load(callers["staff"])
    schema_response = staff_client.get("/api/schema/", {"format": "json"})
    assert schema_response.status_code == 200, schema_response.status_code
    schema = schemathesis.openapi.from_dict(schema_response.json())
    schema.app = WSGIHandler()
    schema.base_url = "http://testserver"

    raised: list[str] = []

    def keep(sender: object, request: object = None, **_: object) -> None:
        raised.append("".join(traceback.format_exc(limit=-12)))

    got_request_exception.connect(keep)
    tally = Tally()
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if only in op.label]
    started = time.monotonic()
    print(f"{len(operations)} operations in /api/schema/; {examples} examples per operation, mode and caller; "
          f"budget {budget:.0f} s; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    for caller, cookies in callers.items():
        for operation in operations:
            if time.monotonic() - started > budget:
                break
            tally.operations.add(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode)

                send = _sender(strategy, examples=examples, caller=caller, cookies=cookies, tally=tally,
                               raised=raised)
                try:
                    send()
                except Exception as error:  # a case schemathesis cannot build is reported, not fatal
                    print(f"  {caller} {operation.label} ({mode.value}): not generated: {type(error).__name__}: "
                          f"{str(error).splitlines()[0][:160] if str(error) else ''}", flush=True)
    got_request_exception.disconnect(keep)
    seconds = time.monotonic() - started
    for key, failure in tally.failures.items():
        print(f"\nFAILURE {key}: {failure}")
    print(f"\n| operations | requests | 2xx | 3xx | 4xx | 503 Label Studio absent | server errors (5xx) | seconds |\n"
          f"| {len(tally.operations)} | {tally.requests} | {tally.statuses[200]} | {tally.statuses[300]} | "
          f"{tally.statuses[400]} | {tally.unavailable} | {len(tally.failures)} operations failing | {seconds:.0f} |")
    print(f"server errors found: {len(tally.failures)}")
    return tally


def _sender(strategy: object, *, examples: int, caller: str, cookies: dict[str, str], tally: Tally,
            raised: list[str]) -> object:
    """A hypothesis test sending `examples` cases of `strategy` as `caller`, counting them into `tally`."""
    from django.conf import settings as django_settings
    from hypothesis import HealthCheck, Phase, given, settings

    csrf = {"X-CSRFToken": cookies[django_settings.CSRF_COOKIE_NAME]}

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def send(case: object) -> None:
        del raised[:]
        response = case.call(cookies=cookies, headers=csrf)
        tally.requests += 1
        tally.statuses[response.status_code // 100 * 100] += 1
        if response.status_code < 500:
            return
        if response.status_code == 503 and b"Label Studio" in response.content:
            tally.unavailable += 1
            return
        tally.failures.setdefault(f"{caller} {case.operation.label}",
                                  f"{response.status_code} for {case.method} {case.formatted_path} "
                                  f"query={case.query!r} body={str(case.body)[:300]!r}\n"
                                  + (raised[-1] if raised else response.text[:500]))

    return send


if __name__ == "__main__":
    main()
