from django.urls import path

from retain.tags import views

urlpatterns = [
    path("tags/", views.tag_list_view, name="tags"),
    path("tags/new/", views.tag_create_view, name="tag-create"),
    path("tags/<int:pk>/rule/", views.tag_rule_view, name="tag-rule"),
    path("tags/<int:pk>/<str:action>/", views.tag_action_view, name="tag-action"),
]
