from django.urls import path

from . import dunning_views, views

app_name = "receivables"
urlpatterns = [
    path("", views.open_items, name="open_items"),
    path("dunning/", dunning_views.runs, name="dunning_runs"),
    path("dunning/<int:pk>/", dunning_views.run_detail, name="dunning_run"),
    path("dunning/letters/<int:pk>/pdf/", dunning_views.letter_pdf, name="dunning_letter_pdf"),
    path("dunning/agency/", dunning_views.agency, name="dunning_agency"),
    path("reminders/", dunning_views.reminders, name="reminders"),
]
