from django.urls import path

from retain.loyalty import views

urlpatterns = [
    path("customers/<str:code>/points/redeem", views.points_redeem_view, name="points-redeem"),
    path("customers/<str:code>/points/adjust", views.points_adjust_view, name="points-adjust"),
    # public: the referral link a member hands a friend (no login)
    path("r/<str:code>/", views.referral_signup_view, name="referral-signup"),
]

from retain.loyalty import pages  # noqa: E402

urlpatterns += [
    path("loyalty/coupons/", pages.coupons_view, name="loyalty-coupons"),
    path("loyalty/coupons/<int:pk>/", pages.coupon_view, name="loyalty-coupon"),
    path("loyalty/settings/", pages.settings_view, name="loyalty-settings"),
]
