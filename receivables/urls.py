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
]
