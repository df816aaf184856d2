from django.urls import path

from . import dispute_views, dunning_views, views

app_name = "receivables"
urlpatterns = [
    path("", views.open_items, name="open_items"),
    path("dunning/", dunning_views.runs, name="dunning_runs"),
    path("dunning/<int:pk>/", dunning_views.run_detail, name="dunning_run"),
    path("dunning/letters/<int:pk>/pdf/", dunning_views.letter_pdf, name="dunning_letter_pdf"),
    path("dunning/agency/", dunning_views.agency, name="dunning_agency"),
    path("reminders/", dunning_views.reminders, name="reminders"),
    # Disputes (opening and resolving: o2c/desk_urls.py, through the flow)
    path("disputes/", dispute_views.dispute_list, name="disputes"),
    path("disputes/<int:pk>/", dispute_views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/reply/", dispute_views.dispute_reply, name="dispute_reply"),
    path("disputes/<int:pk>/assign/", dispute_views.dispute_assign, name="dispute_assign"),
    path("disputes/<int:pk>/review/", dispute_views.dispute_review, name="dispute_review"),
    path(
        "disputes/<int:pk>/attachments/<int:attachment_id>/",
        dispute_views.dispute_attachment,
        name="dispute_attachment",
    ),
    path("collections/", views.worklist, name="worklist"),
    path("write-offs/", views.write_offs, name="write_offs"),
    path("write-offs/new/<int:invoice_id>/", views.write_off_new, name="write_off_new"),
    path("write-offs/approvals/", views.write_off_approvals, name="write_off_approvals"),
    path("write-offs/<int:pk>/decide/", views.write_off_decide, name="write_off_decide"),
    path("refunds/", views.refunds, name="refunds"),
    path("refunds/new/<int:payment_id>/", views.refund_new, name="refund_new"),
    path("refunds/approvals/", views.refund_approvals, name="refund_approvals"),
    path("refunds/<int:pk>/decide/", views.refund_decide, name="refund_decide"),
]
