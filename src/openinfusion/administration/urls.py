from django.urls import path

from openinfusion.administration import views

app_name = "administration"
urlpatterns = [
    path("", views.chair_board, name="board"),
    path("dispensing/", views.dispensing, name="dispensing"),
    path("dispenses/<int:dispense_id>/handoff", views.custody, {"step": "handoff"}, name="handoff"),
    path("dispenses/<int:dispense_id>/receive", views.custody, {"step": "receive"}, name="receive"),
    path("dispenses/<int:dispense_id>/return", views.custody, {"step": "return"}, name="return"),
    path("bedside/", views.bedside, name="bedside"),
    path("infusions/<int:administration_id>/", views.infusion, name="infusion"),
]
