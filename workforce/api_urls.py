"""REST API routes of the workforce app, mounted under /api/v1/."""
app_name = "workforce-api"
urlpatterns: list = []
