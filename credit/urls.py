from django.urls import path

from . import views

app_name = "credit"
urlpatterns = [path("holds/", views.holds, name="holds")]
