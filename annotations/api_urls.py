"""REST API routes of the annotations app: quality scores (urlpatterns, namespace "quality-api", mounted under
/api/v1/quality/) and the staff console's actions (console_urlpatterns, namespace "console-api", under
/api/v1/console/)."""
from django.urls import path

from annotations import api
from annotations.api import ContractorQualityApi, JobRescoreApi, MyQualityApi, QualityBoardApi

app_name = "quality-api"
urlpatterns = [
    path("me/", MyQualityApi.as_view(), name="me"),
    path("contractors/", QualityBoardApi.as_view(), name="board"),
    path("contractors/<int:pk>/", ContractorQualityApi.as_view(), name="contractor"),
    path("jobs/<int:pk>/rescore/", JobRescoreApi.as_view(), name="job-rescore"),
]

console_urlpatterns = [
    path("jobs/", api.JobListApi.as_view(), name="jobs"),
    path("jobs/<int:pk>/", api.JobDetailApi.as_view(), name="job"),
    path("jobs/<int:pk>/publish/", api.JobPublishApi.as_view(), name="job-publish"),
    path("jobs/<int:pk>/rescore/", JobRescoreApi.as_view(), name="job-rescore"),
    path("jobs/<int:pk>/auto-assign/", api.JobAutoAssignApi.as_view(), name="job-auto-assign"),
    path("jobs/<int:pk>/capacity/", api.JobCapacityApi.as_view(), name="job-capacity"),
    path("jobs/<int:pk>/deliveries/", api.JobDeliveriesApi.as_view(), name="job-deliveries"),
    path("batches/", api.BatchListApi.as_view(), name="batches"),
    path("batches/stale/", api.StaleListApi.as_view(), name="batches-stale"),
    path("batches/<int:pk>/", api.BatchDetailApi.as_view(), name="batch"),
    path("batches/<int:pk>/assign/", api.BatchAssignApi.as_view(), name="batch-assign"),
    path("batches/<int:pk>/reclaim/", api.BatchReclaimApi.as_view(), name="batch-reclaim"),
    path("review/", api.ReviewQueueApi.as_view(), name="review-queue"),
    path("review/<int:pk>/", api.ReviewDetailApi.as_view(), name="review"),
    path("review/<int:pk>/decision/", api.ReviewDecideApi.as_view(), name="review-decision"),
    path("deliveries/<int:pk>/", api.DeliveryDetailApi.as_view(), name="delivery"),
]
