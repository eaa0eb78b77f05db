from django.urls import path

from openinfusion.chairs import views

app_name = "chairs"
urlpatterns = [
    path("", views.day_board, name="board"),
    path("plan", views.plan, name="plan"),
    path("book", views.book, name="book"),
    path("appointments/<int:appointment_id>/cancel", views.cancel, name="cancel"),
]
