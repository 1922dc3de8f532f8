from django.urls import path

from retain.playbooks import views

urlpatterns = [
    path("playbooks/", views.playbook_list_view, name="playbooks"),
    path("playbooks/new/", views.playbook_edit_view, name="playbook-new"),
    path("playbooks/<int:pk>/", views.playbook_edit_view, name="playbook-edit"),
]
