from django.urls import path

from . import views

app_name = "receivables"
urlpatterns = [
    path("", views.open_items, name="open_items"),
    path("collections/", views.worklist, name="worklist"),
]
