from django.urls import path

from . import views

app_name = "credit"
urlpatterns = [
    path("holds/", views.holds, name="holds"),
    path("customers/<int:customer_id>/", views.profile_detail, name="profile"),
    path("customers/<int:customer_id>/limit/", views.change_limit, name="change_limit"),
    path("limit-approvals/", views.limit_approvals, name="limit_approvals"),
    path("limit-approvals/<int:pk>/", views.decide_limit, name="decide_limit"),
    path("policy/", views.policy, name="policy"),
    path("applications/", views.applications, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path("applications/<int:pk>/document/", views.application_document, name="application_document"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:pk>/resolve/", views.resolve_review, name="resolve_review"),
]
