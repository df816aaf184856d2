from django.urls import path

from . import views

app_name = "fulfillment"
urlpatterns = [
    path("", views.to_ship, name="to_ship"),
]
