from django.urls import path

from openinfusion.chairs import views

app_name = "chairs"
urlpatterns = [
    path("", views.day_board, name="board"),
    path("plan", views.plan, name="plan"),
    path("plan-week", views.plan_week, name="plan_week"),
    path("book", views.book, name="book"),
    path("chairs/out-of-service", views.chair_out, name="chair_out"),
    path("appointments/<int:appointment_id>/cancel", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/arrive", views.arrive, name="arrive"),
    path("appointments/<int:appointment_id>/seat", views.seat, name="seat"),
    path("appointments/<int:appointment_id>/finish", views.finish, name="finish"),
    path("appointments/<int:appointment_id>/delay", views.delay, name="delay"),
    path("appointments/<int:appointment_id>/move", views.move, name="move"),
]
