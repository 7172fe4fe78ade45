"""Page routes of the workforce app."""
from django.urls import path

from workforce import views

app_name = "workforce"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("agreements/", views.agreements, name="agreements"),
    path("start-working/", views.start_working, name="start-working"),
    path("privacy/", views.privacy, name="privacy"),
    path("privacy/my-data.json", views.data_export, name="data-export"),
    path("staff/applicants/", views.applicants, name="staff-applicants"),
    path("staff/applicants/<int:pk>/payout-release/", views.payout_release_view, name="staff-payout-release"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notification_read, name="notifications-read"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification-read"),
    path("notifications/emails/", views.notification_emails, name="notification-emails"),
    path("staff/announcement/", views.staff_announcement, name="staff-announcement"),
    path("staff/agreements/", views.staff_agreements, name="staff-agreements"),
]
