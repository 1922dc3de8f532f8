from django.urls import path

from retain.audit import views

urlpatterns = [
    path("audit/", views.audit_report_view, name="audit-report"),
    path(
        "customers/<str:code>/reveal/<str:model>/<int:pk>/<str:field>/",
        views.personal_reveal_view,
        name="personal-reveal",
    ),
    path(
        "customers/<str:code>/personal-data/",
        views.personal_data_export_view,
        name="personal-data-export",
    ),
    path("customers/<str:code>/erase/", views.customer_erase_view, name="customer-erase"),
]
