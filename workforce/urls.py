"""Page routes of the workforce app."""
from django.urls import path

from workforce import views

app_name = "workforce"
urlpatterns = [
    path("", views.job_page, name="job"),
    path("job/examples/<slug:class_key>.jpg", views.defect_example, name="defect-example"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("profile/", views.profile, name="profile"),
    path("agreements/", views.agreements, name="agreements"),
    path("start-working/", views.start_working, name="start-working"),
    path("label-studio/password/", views.label_studio_password_view, name="label-studio-password"),
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/my-data.json", views.data_export, name="data-export"),
    path("staff/applicants/", views.applicants, name="staff-applicants"),
    path("staff/applicants/<int:pk>/", views.applicant_detail, name="staff-applicant"),
    path("staff/agreements/", views.staff_agreements, name="staff-agreements"),
]
