from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("customers/search/", views.customer_search, name="customer_search"),
    path("products/search/", views.product_search, name="product_search"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/new/", views.customer_new, name="customer_new"),
    path("customers/<int:pk>/", views.customer_edit, name="customer_edit"),
]
