from django.urls import path

from retain.complaints import views

urlpatterns = [
    path("service/", views.inbox_view, name="service-inbox"),
    path("service/complaints/new/", views.complaint_new_view, name="complaint-new"),
    path("service/complaints/<int:pk>/", views.complaint_detail_view, name="complaint-detail"),
    path(
        "service/complaints/<int:pk>/<str:action>/",
        views.complaint_action_view,
        name="complaint-action",
    ),
    path("service/surveys/new/", views.survey_entry_view, name="survey-entry"),
]
