"""Page routes of the annotations app: the contractor's quality pages, Label Studio's webhook and the client's signed
delivery link (namespace "annotations", mounted at the root) and the staff console (namespace "console", mounted
under /console/; the job page and the new-job form are the portal's)."""
from django.urls import path

from annotations import views

app_name = "annotations"
urlpatterns = [
    path("webhooks/label-studio/", views.label_studio_webhook, name="label-studio-webhook"),
    # The gateway in front of Label Studio: nginx's auth_request, and the sign-in it proxies as /_labelcrew/sign-in.
    path("gateway/decide", views.gateway_decide, name="gateway-decide"),
    path("label-studio/sign-in", views.label_studio_sign_in, name="label-studio-sign-in"),
    path("quality/", views.my_quality, name="my-quality"),
    path("batches/<int:pk>/hand-in/", views.hand_in, name="batch-hand-in"),
    path("my/annotations/<int:pk>.jpg", views.my_annotation_overlay, name="my-annotation-overlay"),
    path("quality/scores/<int:pk>.jpg", views.quality_overlay, name="quality-overlay"),
    # The client's signed, expiring link: no login, the token is the permission.
    path("delivery/<str:token>/", views.client_delivery, name="client-delivery"),
    path("delivery/<str:token>/delivery.zip", views.client_delivery_zip, name="client-delivery-zip"),
    path("delivery/<str:token>/report.json", views.client_delivery_report_json, name="client-delivery-report-json"),
    path("delivery/<str:token>/thumbnails/<int:index>.jpg", views.client_delivery_thumbnail,
         name="client-delivery-thumbnail"),
]

console_urlpatterns = [
    path("", views.console_home, name="home"),
    path("jobs/<int:pk>/publish/", views.job_publish, name="job-publish"),
    path("jobs/<int:pk>/gold-import/", views.job_gold_import, name="job-gold-import"),
    path("jobs/<int:pk>/import/", views.job_import, name="job-import"),
    path("jobs/<int:pk>/import/confirm/", views.job_import_confirm, name="job-import-confirm"),
    path("imports/<int:pk>/", views.import_run_page, name="import-run"),
    path("imports/<int:pk>.json", views.import_progress, name="import-progress"),
    path("jobs/<int:pk>/progress.json", views.job_progress_json, name="job-progress-json"),
    path("jobs/<int:pk>/rescore/", views.job_rescore, name="job-rescore"),
    path("jobs/<int:pk>/qualification/", views.job_qualification, name="job-qualification"),
    path("qualification/<int:pk>/open/", views.qualification_open, name="qualification-open"),
    path("jobs/<int:pk>/progress.csv", views.job_progress_csv, name="job-progress-csv"),
    path("jobs/<int:pk>/capacity/", views.capacity, name="capacity"),
    path("jobs/<int:pk>/auto-assign/", views.auto_assign, name="auto-assign"),
    path("assign/", views.batch_assign, name="assign"),
    path("stale/", views.stale, name="stale"),
    path("review/", views.review_queue, name="review-queue"),
    path("review/<int:pk>/", views.review_detail, name="review"),
    path("review/<int:pk>/against-<slug:against>.jpg", views.review_overlay, name="review-overlay"),
    path("quality/", views.quality_console, name="quality"),
    path("quality/<int:pk>/", views.quality_contractor, name="quality-contractor"),
    path("jobs/<int:pk>/deliver/", views.job_deliver, name="job-deliver"),
    path("deliveries/<int:pk>/", views.delivery_report, name="delivery"),
    path("deliveries/<int:pk>/delivery.zip", views.delivery_zip, name="delivery-zip"),
    path("deliveries/<int:pk>/report.json", views.delivery_report_json, name="delivery-report-json"),
    path("deliveries/<int:pk>/thumbnails/<int:index>.jpg", views.delivery_thumbnail, name="delivery-thumbnail"),
]
