from django.urls import path

from openinfusion.orders import views

app_name = "orders"
urlpatterns = [
    path("verify/", views.queue, name="queue"),
    path("returned/", views.returned, name="returned"),
    path("patients/<int:patient_id>/plans", views.start_plan, name="start_plan"),
    path("patients/<int:patient_id>/orders", views.new_order, name="new"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("plans/<int:plan_id>/submit", views.submit_cycle, name="submit_cycle"),
    path("<int:order_id>/", views.order_detail, name="order"),
    *(path(f"<int:order_id>/{verb}", view, {"verb": verb}, name=verb) for verb, view in views.ACTION_VIEWS.items()),
]
