from django.urls import path

from retain.imports import views

urlpatterns = [
    path("", views.import_start, name="imports"),
    path("<int:pk>/mapping/", views.import_mapping, name="import-mapping"),
    path("<int:pk>/", views.import_job, name="import-job"),
    path("<int:pk>/retry/", views.import_retry, name="import-retry"),
    path("<int:pk>/rejects.csv", views.import_reject, name="import-reject"),
    path(
        "templates/<str:kind>-<str:language>.<str:fmt>",
        views.import_template,
        name="import-template",
    ),
]
