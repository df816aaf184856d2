"""Pages that move a document from one stage to the next: they call o2c.flow."""

from django.urls import path

from . import account_views, cash_views, dispute_views, dunning_views, import_views, views

app_name = "desk"
urlpatterns = [
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/credit-decision/", views.credit_decision, name="credit_decision"),
    path("orders/<int:pk>/ship/", views.ship_order, name="ship_order"),
    path("shipments/<int:pk>/ship/", views.ship_shipment, name="ship_shipment"),
    path("shipments/<int:pk>/delivery/", views.record_delivery, name="record_delivery"),
    path("receiving/", views.receive_stock, name="receive_stock"),
    path("returns/<int:pk>/receive/", views.receive_return, name="receive_return"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/payment/", views.record_payment, name="record_payment"),
    path(
        "credit/applications/<int:pk>/decision/",
        views.credit_application_decision,
        name="credit_application_decision",
    ),
    path("dunning/<int:pk>/approve/", dunning_views.approve_run, name="dunning_approve"),
    path("dunning/<int:pk>/discard/", dunning_views.discard_run, name="dunning_discard"),
    path("cash/", cash_views.cash_queue, name="cash_queue"),
    path("cash/lines/<int:pk>/", cash_views.cash_line, name="cash_line"),
    path("cash/lines/<int:pk>/accept/", cash_views.accept_suggestion, name="accept_suggestion"),
    path("cash/upload/", cash_views.statement_upload, name="statement_upload"),
    path("cash/uploads/<int:pk>/", cash_views.statement_upload_status, name="statement_upload_status"),
    path("cash/payments/new/", cash_views.manual_payment, name="manual_payment"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/copy/", views.order_copy, name="order_copy"),
    # CSV order import
    path("orders/import/", import_views.import_upload, name="order_import_upload"),
    path("orders/import/template.csv", import_views.import_template, name="order_import_template"),
    path("orders/import/<int:pk>/", import_views.import_detail, name="order_import"),
    path("orders/import/<int:pk>/confirm/", import_views.import_confirm, name="order_import_confirm"),
    path("orders/import/<int:pk>/progress/", import_views.import_progress, name="order_import_progress"),
    path("orders/import/<int:pk>/report.csv", import_views.import_report_csv, name="order_import_report"),
    path("invoices/<int:pk>/issue/", views.issue_draft, name="issue_draft"),
    path("invoices/<int:pk>/resend/", views.resend_invoice, name="resend_invoice"),
    path("invoices/<int:pk>/credit-note/", views.credit_note_new, name="credit_note_new"),
    path("invoices/bulk/", views.invoice_bulk, name="invoice_bulk"),
    # Disputes: opened on an invoice and resolved through the flow (the rest: receivables/urls.py)
    path("invoices/<int:pk>/dispute/", dispute_views.dispute_new, name="dispute_new"),
    path("disputes/<int:pk>/resolve/", dispute_views.dispute_resolve, name="dispute_resolve"),
    # the customer account (360) page of collections
    path("customers/<int:pk>/account/", account_views.customer_account, name="customer_account"),
    path("customers/<int:pk>/account/call/", account_views.log_call, name="account_log_call"),
    path("customers/<int:pk>/account/promise/", account_views.record_promise, name="account_record_promise"),
    path("customers/<int:pk>/account/email/", account_views.send_email, name="account_send_email"),
    path("customers/<int:pk>/account/note/", account_views.add_note, name="account_add_note"),
    path("customers/<int:pk>/account/follow-up/", account_views.set_follow_up, name="account_follow_up"),
    path("customers/<int:pk>/account/statement.pdf", account_views.statement_pdf, name="account_statement"),
    path("collection-tasks/<int:pk>/done/", account_views.complete_task, name="account_task_done"),
]
