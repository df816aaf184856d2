"""The customer portal's URL space. tests/portal/test_isolation.py walks every pattern here
as another customer: a new pattern is covered without being listed anywhere."""

from django.urls import path

from . import dispute_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/documents/<slug:kind>/", views.invoice_document, name="invoice_document"),
    path("statement/", views.statement, name="statement"),
    path("payments/", views.payments_history, name="payments"),
    path("pay/", views.pay, name="pay"),
    path("pay/<str:reference>/", views.payment, name="payment"),
    path("pay-link/<str:token>/", views.pay_link, name="pay_link"),
    path("pay-link/<str:token>/<str:reference>/", views.pay_link_payment, name="pay_link_payment"),
    path("orders/", views.orders, name="orders"),
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("users/", views.users, name="users"),
    path("users/<int:member_id>/", views.user_update, name="user_update"),
    path("account/", views.account, name="account"),
    path("disputes/", dispute_views.disputes_list, name="disputes"),
    path("invoices/<int:invoice_id>/dispute/", dispute_views.dispute_new, name="dispute_new"),
    path("disputes/<int:dispute_id>/", dispute_views.dispute_detail, name="dispute_detail"),
    path(
        "disputes/<int:dispute_id>/attachments/<int:attachment_id>/",
        dispute_views.dispute_attachment,
        name="dispute_attachment",
    ),
]
