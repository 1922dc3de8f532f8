from django.urls import path

from retain.scoring import views

urlpatterns = [
    path("", views.scores_upload_view, name="scores-upload"),
    path("<int:pk>/", views.scores_upload_job, name="scores-upload-job"),
]
