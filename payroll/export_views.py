"""Downloads of payroll files: the weekly export (console and API), payout files, a statement as CSV."""
import tempfile
from collections.abc import Iterator
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from common.decorators import staff_required
from common.errors import DomainError
from payroll import exports
from payroll.models import PayRun, Statement
from payroll.payouts import PAYOUT_FILES, payout_csv_lines
from payroll.selectors import week_name, week_parse

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _csv_download(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def timesheet_export_response(week_start: datetime, fmt: str, *, bom: bool = False) -> HttpResponse:
    """The week's export as a download: CSV streamed as it is read; XLSX built in a temporary file first
    (a zip cannot be streamed before it is complete), which the response closes and so deletes."""
    filename = f"timesheets-{week_name(week_start)}.{fmt}"
    if fmt == "csv":
        return _csv_download(exports.csv_lines(week_start, bom=bom), filename)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    exports.xlsx_write(week_start, spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=exports.XLSX_CONTENT_TYPE)


@require_GET
@staff_required
def timesheet_export(request: HttpRequest, week: str, fmt: str) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404("Export as csv or xlsx.")
    try:
        week_start = week_parse(week)
    except DomainError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    return timesheet_export_response(week_start, fmt, bom=request.GET.get("bom") == "1")


@require_GET
@staff_required
def payout_file(request: HttpRequest, pk: int, service: str) -> StreamingHttpResponse:
    if service not in PAYOUT_FILES:
        raise Http404("Payout files exist for paypal and wise.")
    pay_run = get_object_or_404(PayRun, pk=pk)
    return _csv_download(payout_csv_lines(pay_run=pay_run, method=service),
                         f"{service}-{week_name(pay_run.week_start)}-pay-run-{pay_run.pk}.csv")


@require_GET
@login_required
def statement_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """A statement as CSV for its contractor or staff; anyone else is told it does not exist."""
    statement = get_object_or_404(Statement.objects.select_related("contractor__user", "timesheet"), pk=pk)
    if not request.user.is_staff and statement.contractor.user_id != request.user.pk:
        raise Http404("No such statement.")
    return _csv_download(exports.statement_csv_lines(statement),
                         f"statement-{week_name(statement.timesheet.week_start)}-{statement.pk}.csv")


class _FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file to build, not a DRF renderer; answers other than files are JSON."""

    def select_renderer(self, request: Request, renderers: list[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class TimesheetExportApi(APIView):
    """Staff: the weekly timesheet export, GET /api/v1/payroll/weeks/<week>/export?format=csv|xlsx."""

    permission_classes = [IsAdminUser]
    content_negotiation_class = _FileFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("week", str, OpenApiParameter.PATH, description="ISO week, e.g. 2026-W48"),
                    OpenApiParameter("format", str, enum=exports.FORMATS, default="csv"),
                    OpenApiParameter("bom", bool, description="CSV only: start with a UTF-8 byte order mark")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, week: str) -> HttpResponse:
        fmt = request.query_params.get("format", "csv")
        if fmt not in exports.FORMATS:
            raise DomainError(f"format: csv or xlsx (got {fmt!r}).", field="format")
        bom = request.query_params.get("bom") in ("1", "true")
        return timesheet_export_response(week_parse(week), fmt, bom=bom)
