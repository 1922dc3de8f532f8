from django.contrib.auth import views as auth_views
from django.urls import include, path

from retain.web import views

urlpatterns = [
    path("login/", views.RetainLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("customers/", views.customer_list_view, name="customer-list"),
    path("customers/<str:code>/", views.customer_detail_view, name="customer-detail"),
    path("segments/", views.upcoming_view, {"section": "segments"}, name="segments"),
    path("imports/", include("retain.imports.urls")),
]
