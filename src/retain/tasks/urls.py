from django.urls import path

from retain.tasks import views

urlpatterns = [
    path("tasks/", views.task_inbox_view, name="tasks"),
    path("tasks/<int:pk>/complete/", views.task_complete_view, name="task-complete"),
    path("tasks/<int:pk>/snooze/", views.task_snooze_view, name="task-snooze"),
    path("tasks/bulk/", views.tasks_bulk_view, name="tasks-bulk"),
    path("tasks/capacity/", views.task_capacity_view, name="task-capacity"),
    path("team/", views.team_view, name="team"),
    path("team/reassign/", views.team_reassign_view, name="team-reassign"),
    path("tasks/churn-reasons/", views.churn_reasons_view, name="churn-reasons"),
    path("notifications/", views.notification_list_view, name="notifications"),
    path("notifications/read/", views.notifications_read_view, name="notifications-read"),
]
