from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("desk/", include("o2c.desk_urls")),
    path("orders/", include("orders.urls")),
    path("credit/", include("credit.urls")),
    path("shipping/", include("fulfillment.urls")),
    path("invoices/", include("invoicing.urls")),
    path("receivables/", include("receivables.urls")),
    path("reports/", include("reporting.urls")),
    path("portal/", include("portal.urls")),
    path("admin/", admin.site.urls),
]
