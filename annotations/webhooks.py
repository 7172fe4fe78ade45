"""The endpoint Label Studio's webhooks call: checks the shared secret, parses, hands over to the sync service."""
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from annotations.labelstudio import WEBHOOK_SECRET_HEADER
from annotations.services.sync import webhook_handle
from common.errors import DomainError


# Label Studio cannot send a CSRF token; the shared secret header authenticates it instead.
@csrf_exempt
@require_POST
def label_studio_webhook(request: HttpRequest) -> JsonResponse:
    expected = getattr(settings, "LABEL_STUDIO_WEBHOOK_SECRET", "")
    given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
    # No secret configured means no webhook is trusted: never accept an unsigned call.
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"detail": "Missing or wrong webhook secret."}, status=403)
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "The body is not JSON."}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return JsonResponse({"detail": "The body must be a JSON object with an action."}, status=400)
    try:
        webhook_handle(action=body["action"], payload=body)
    except DomainError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status)
    return JsonResponse({"ok": True})
