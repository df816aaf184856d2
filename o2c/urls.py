from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from django_otp.admin import OTPAdminSite

from . import security, views

admin.site.__class__ = OTPAdminSite  # administrators must be verified by a second factor

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/verify/", security.verify, name="otp_verify"),
    path("account/two-factor/", security.setup, name="otp_setup"),
    path("desk/", include("o2c.desk_urls")),
    path("orders/", include("orders.urls")),
    path("credit/", include("credit.urls")),
    path("shipping/", include("fulfillment.urls")),
    path("invoices/", include("invoicing.urls")),
    path("receivables/", include("receivables.urls")),
    path("reports/", include("reporting.urls")),
    path("portal/", include("portal.urls")),
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),  # one sign-in page
    path("admin/", admin.site.urls),
]
