from django.urls import path

from retain.care import views

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="care-unsubscribe"),
    path("care/opened/<str:token>/", views.opened_view, name="care-opened"),
    path("care/", views.care_home_view, name="care"),
    path("care/campaigns/new/", views.campaign_edit_view, name="campaign-new"),
    path("care/campaigns/<int:pk>/", views.campaign_edit_view, name="campaign-edit"),
    path(
        "care/campaigns/<int:pk>/schedule/",
        views.campaign_schedule_view,
        name="campaign-schedule",
    ),
    path("care/messages/new/", views.care_template_edit_view, name="care-template-new"),
    path("care/messages/<int:pk>/", views.care_template_edit_view, name="care-template-edit"),
    path("care/deliveries/", views.delivery_log_view, name="care-deliveries"),
]
