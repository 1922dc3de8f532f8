from django.urls import path

from retain.playbooks import results_views, review_views, segment_views, views

urlpatterns = [
    path("segments/", segment_views.segment_explorer_view, name="segments"),
    path("segments/save/", segment_views.segment_save_view, name="segment-save"),
    path("playbooks/", views.playbook_list_view, name="playbooks"),
    path("playbooks/new/", views.playbook_edit_view, name="playbook-new"),
    path("playbooks/<int:pk>/", views.playbook_edit_view, name="playbook-edit"),
    path("playbooks/<int:pk>/arms/", views.plan_arms_view, name="plan-arms"),
    path("playbooks/compare/", results_views.playbooks_compare_view, name="playbooks-compare"),
    path("playbooks/review/", review_views.plans_review_view, name="plans-review"),
    path("playbooks/review/cases/", review_views.plan_case_create_view, name="plan-case-create"),
    path(
        "playbooks/<int:pk>/results.csv",
        results_views.playbook_results_export_view,
        name="playbook-results-export",
    ),
    path(
        "playbooks/<int:pk>/results.xlsx",
        results_views.playbook_results_export_view,
        {"fmt": "xlsx"},
        name="playbook-results-export-xlsx",
    ),
    path(
        "playbooks/<int:pk>/results/",
        results_views.playbook_results_view,
        name="playbook-results",
    ),
]
