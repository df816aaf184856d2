from django.urls import path

from . import views

app_name = "fulfillment"
urlpatterns = [
    path("", views.to_ship, name="to_ship"),
    path("pick/", views.pick_queue, name="pick_queue"),
    path("pick/plan/", views.plan, name="plan"),
    path("shipments/<int:pk>/", views.shipment, name="shipment"),
    path("shipments/<int:pk>/scan/", views.scan, name="scan"),
    path("shipments/<int:pk>/picked/", views.finish_picking, name="finish_picking"),
    path("shipments/<int:pk>/pack/", views.pack, name="pack"),
    path("shipments/<int:pk>/documents/<str:kind>/", views.document, name="document"),
    path("shipments/<int:pk>/return/", views.authorise_return, name="authorise_return"),
    path("returns/<int:pk>/", views.return_detail, name="return"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("backorders/", views.backorders, name="backorders"),
    path("atp/", views.atp, name="atp"),
]
