from django.urls import path

from . import views

app_name = "receivables"
urlpatterns = [
    path("", views.open_items, name="open_items"),
    path("write-offs/", views.write_offs, name="write_offs"),
    path("write-offs/new/<int:invoice_id>/", views.write_off_new, name="write_off_new"),
    path("write-offs/approvals/", views.write_off_approvals, name="write_off_approvals"),
    path("write-offs/<int:pk>/decide/", views.write_off_decide, name="write_off_decide"),
    path("refunds/", views.refunds, name="refunds"),
    path("refunds/new/<int:payment_id>/", views.refund_new, name="refund_new"),
    path("refunds/approvals/", views.refund_approvals, name="refund_approvals"),
    path("refunds/<int:pk>/decide/", views.refund_decide, name="refund_decide"),
]
