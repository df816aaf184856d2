from django.urls import path

from . import views

app_name = "invoicing"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("ready/", views.ready_to_bill, name="ready"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="pdf"),
    path("<int:pk>/documents/<str:kind>/", views.document, name="document"),
    path("bundles/<int:pk>/", views.bundle, name="bundle"),
    path("bundles/<int:pk>/download/", views.bundle_download, name="bundle_download"),
]
