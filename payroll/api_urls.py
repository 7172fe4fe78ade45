"""REST API routes of payroll under /api/v1/payroll/: a contractor's own (api.py) and staff's (api_staff.py)."""
from payroll import api, api_staff

app_name = "payroll-api"
urlpatterns = [*api.urlpatterns, *api_staff.urlpatterns]
