from django.urls import path

from openinfusion.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.users, name="users"),
    path("add", views.add_user, name="add"),
    path("me", views.me, name="me"),
    path("me/tokens/<int:token_id>/revoke", views.revoke_token, name="revoke_token"),
    *(
        path(f"<int:user_id>/{verb}", views.change_user, {"verb": verb}, name=verb)
        for verb in ("roles", "unlock", "deactivate")
    ),
]
