from django.urls import path

from openinfusion.jobs import views

app_name = "jobs"
urlpatterns = [path("<int:job_id>/", views.progress, name="progress")]
