from django.urls import path

from retain.care import views

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="care-unsubscribe"),
]
