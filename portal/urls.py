"""Routes of the portal's pages; config/urls.py includes them at the root, before the apps' own routes."""
from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.job_page, name="job"),
    path("job/examples/<slug:class_key>.jpg", views.defect_example, name="defect-example"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_listing, name="job-listing"),
    path("jobs/<int:pk>/examples/<slug:class_key>.jpg", views.job_example, name="job-example"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("label-studio/password/", views.label_studio_password_view, name="label-studio-password"),
    path("staff/applicants/<int:pk>/", views.applicant_detail, name="staff-applicant"),
    path("console/jobs/new/", views.job_create, name="console-job-create"),
    path("console/jobs/<int:pk>/", views.job_detail, name="console-job"),
    path("console/jobs/<int:pk>/listing/", views.job_listing_edit, name="console-job-listing"),
]
