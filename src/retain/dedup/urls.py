"""Mounted under /imports/ beside the import pages (the URLs predate the dedup app)."""

from django.urls import path

from retain.dedup import views

urlpatterns = [
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("duplicates/<int:pk>/merge/", views.duplicate_merge, name="duplicate-merge"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss_view, name="duplicate-dismiss"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
    path("quality/", views.quality_view, name="quality"),
]
