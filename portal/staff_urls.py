"""Staff pages about the portal: customers' change requests, inviting customer users."""

from django.urls import path

from . import staff_views

app_name = "portal_staff"
urlpatterns = [
    path("change-requests/", staff_views.change_requests, name="change_requests"),
    path("change-requests/<int:pk>/", staff_views.handle_change_request, name="handle_change_request"),
    path("change-requests/<int:pk>/attachment/", staff_views.change_request_attachment, name="attachment"),
    path("invite/", staff_views.invite, name="invite"),
]
