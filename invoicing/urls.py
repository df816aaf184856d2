from django.urls import path

from . import views

app_name = "invoicing"
urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="pdf"),
]
