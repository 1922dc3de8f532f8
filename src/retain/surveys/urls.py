from django.urls import path

from retain.surveys import manage_views, views

urlpatterns = [
    path("s/<str:token>/", views.survey_public_view, name="survey-public"),
    path("surveys/", manage_views.survey_list_view, name="surveys"),
    path("surveys/new/", manage_views.survey_edit_view, name="survey-new"),
    path(
        "surveys/from-template/",
        manage_views.survey_from_template_view,
        name="survey-from-template",
    ),
    path("surveys/<int:pk>/", manage_views.survey_edit_view, name="survey-edit"),
    path("surveys/<int:pk>/send/", manage_views.survey_send_view, name="survey-send"),
    path(
        "surveys/sends/<int:pk>/",
        manage_views.survey_send_progress_view,
        name="survey-send-progress",
    ),
    path("surveys/<int:pk>/when/", manage_views.survey_triggers_view, name="survey-triggers"),
    path("surveys/<int:pk>/link/", manage_views.survey_link_view, name="survey-link"),
    path("surveys/<int:pk>/results/", manage_views.survey_results_view, name="survey-results"),
]
