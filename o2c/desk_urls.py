"""Pages that move a document from one stage to the next: they call o2c.flow."""

from django.urls import path

from . import views

app_name = "desk"
urlpatterns = [
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/credit-decision/", views.credit_decision, name="credit_decision"),
    path("orders/<int:pk>/ship/", views.ship_order, name="ship_order"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/payment/", views.record_payment, name="record_payment"),
    path("invoices/<int:pk>/issue/", views.issue_draft, name="issue_draft"),
    path("invoices/<int:pk>/resend/", views.resend_invoice, name="resend_invoice"),
    path("invoices/<int:pk>/credit-note/", views.credit_note_new, name="credit_note_new"),
    path("invoices/bulk/", views.invoice_bulk, name="invoice_bulk"),
]
