from django.urls import path

from openinfusion.compounding import views

app_name = "compounding"
urlpatterns = [
    path("", views.work_queue, name="queue"),
    path("orders/<int:order_id>/plan", views.plan, name="plan"),
    path("<int:preparation_id>/", views.preparation, name="preparation"),
    path("<int:preparation_id>/release", views.release, name="release"),
    path("<int:preparation_id>/start", views.start, name="start"),
    path("<int:preparation_id>/step", views.step, name="step"),
    path("<int:preparation_id>/complete", views.complete, name="complete"),
    path("<int:preparation_id>/check", views.check, name="check"),
    path("<int:preparation_id>/label", views.label, name="label"),
    path("open-vials/", views.open_vials, name="open_vials"),
    path("checks/", views.checks, name="checks"),
    path("recipes/", views.recipes, name="recipes"),
    path("photos/<int:photo_id>", views.photo, name="photo"),
]
