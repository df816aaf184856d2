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
    path("portal-desk/", include("portal.staff_urls")),
    # Password reset (and the set-password link of a portal invitation): Django's views, our templates.
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="portal/password_reset_form.html",
            email_template_name="portal/password_reset_email.txt",
            subject_template_name="portal/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="portal/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),  # one sign-in page
    path("admin/", admin.site.urls),
]
