"""REST API routes of the workforce app, mounted under /api/v1/."""
from django.urls import path

from workforce import api

app_name = "workforce-api"
urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
    path("me/tax-declaration/", api.MeTaxDeclarationApi.as_view(), name="me-tax-declaration"),
    path("me/agreements/", api.MeAgreementsApi.as_view(), name="me-agreements"),
    path("me/agreements/accept/", api.MeAgreementsAcceptApi.as_view(), name="me-agreements-accept"),
    path("me/transitions/", api.MeTransitionsApi.as_view(), name="me-transitions"),
    path("me/export/", api.MeExportApi.as_view(), name="me-export"),
    path("me/deletion/", api.MeDeletionApi.as_view(), name="me-deletion"),
    path("me/start-working/", api.MeStartWorkingApi.as_view(), name="me-start-working"),
    path("contractors/", api.ContractorListApi.as_view(), name="contractor-list"),
    path("contractors/counts/", api.ContractorCountsApi.as_view(), name="contractor-counts"),
    path("contractors/bulk-decide/", api.ContractorBulkDecideApi.as_view(), name="contractor-bulk-decide"),
    path("contractors/<int:pk>/", api.ContractorDetailApi.as_view(), name="contractor-detail"),
    path("contractors/<int:pk>/transitions/", api.ContractorTransitionsApi.as_view(),
         name="contractor-transitions"),
    path("contractors/<int:pk>/payout-release/", api.ContractorPayoutReleaseApi.as_view(),
         name="contractor-payout-release"),
    path("transitions/", api.TransitionListApi.as_view(), name="transition-list"),
]
