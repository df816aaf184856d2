from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("credit/", views.credit_view, name="credit"),
    path("receivables/", views.receivables_view, name="receivables"),
    path("cycle-times/", views.cycle_times, name="cycles"),
    path("cycle-times/<slug:measure>/", views.cycle_documents, name="cycle_documents"),
    path("cash-forecast/", views.cash_forecast, name="forecast"),
    path("aging/invoices/", views.aging_invoices, name="aging_invoices"),
    path("sales/", views.sales_invoices, name="sales"),
    path("cash/", views.payments, name="payments"),
    path("credit-holds/", views.held_orders, name="holds"),
    path("quality/<slug:measure>/", views.quality_documents, name="quality_documents"),
]
