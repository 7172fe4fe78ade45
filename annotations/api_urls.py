"""REST API routes of the annotations app: quality scores, mounted under /api/v1/quality/."""
from django.urls import path

from annotations.api import ContractorQualityApi, JobRescoreApi, MyQualityApi, QualityBoardApi

app_name = "quality-api"
urlpatterns = [
    path("me/", MyQualityApi.as_view(), name="me"),
    path("contractors/", QualityBoardApi.as_view(), name="board"),
    path("contractors/<int:pk>/", ContractorQualityApi.as_view(), name="contractor"),
    path("jobs/<int:pk>/rescore/", JobRescoreApi.as_view(), name="job-rescore"),
]
