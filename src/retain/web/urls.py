from django.contrib.auth import views as auth_views
from django.urls import include, path

from retain.web import (
    board_views,
    customer_edit_views,
    customer_list_views,
    customer_views,
    search_views,
    views,
)

urlpatterns = [
    path("login/", views.RetainLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", board_views.dashboard, name="dashboard"),
    path("board/targets/<int:pk>/", board_views.target_update_view, name="target-update"),
    path("board/goals/", board_views.goal_create_view, name="goal-create"),
    path("board/goals/<int:pk>/delete/", board_views.goal_delete_view, name="goal-delete"),
    path("search/", search_views.search_view, name="search"),
    path("customers/", views.customer_list_view, name="customer-list"),
    path("customers/bulk/", customer_list_views.customer_bulk_view, name="customer-bulk"),
    path(
        "customers/export.<str:fmt>",
        customer_list_views.customer_export_view,
        name="customer-export",
    ),
    path("customers/views/", customer_list_views.saved_view_create, name="saved-view-create"),
    path(
        "customers/views/<int:pk>/delete/",
        customer_list_views.saved_view_delete,
        name="saved-view-delete",
    ),
    path("customers/new/", customer_edit_views.customer_create_view, name="customer-create"),
    path(
        "customers/new/duplicates/",
        customer_edit_views.customer_duplicates_view,
        name="customer-duplicates",
    ),
    path("customers/<str:code>/", views.customer_detail_view, name="customer-detail"),
    path(
        "customers/<str:code>/edit/", customer_edit_views.customer_edit_view, name="customer-edit"
    ),
    path(
        "customers/<str:code>/status/",
        customer_edit_views.customer_status_view,
        name="customer-status",
    ),
    path(
        "customers/<str:code>/tags/", customer_edit_views.customer_tags_view, name="customer-tags"
    ),
    path(
        "customers/<str:code>/contacts/new/",
        customer_edit_views.contact_edit_view,
        name="contact-create",
    ),
    path(
        "customers/<str:code>/contacts/<int:pk>/",
        customer_edit_views.contact_edit_view,
        name="contact-edit",
    ),
    path(
        "customers/<str:code>/followups/",
        customer_views.customer_followup_view,
        name="customer-followup",
    ),
    path("imports/scores/", include("retain.scoring.urls")),
    path("imports/", include("retain.imports.urls")),
    path("imports/", include("retain.dedup.urls")),
]
