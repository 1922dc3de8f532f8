from django.urls import path

from retain.api import views
from retain.api.v1 import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("account/tokens/", views.tokens_view, name="api-tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="api-token-revoke"),
]
