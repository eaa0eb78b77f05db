from django.urls import path

from openinfusion.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("<int:patient_id>/", views.chart, name="chart"),
    path("<int:patient_id>/measurements", views.record, {"what": "measurement"}, name="measure"),
    path("<int:patient_id>/labs", views.record, {"what": "lab"}, name="lab"),
    path("<int:patient_id>/allergies", views.record, {"what": "allergy"}, name="allergy"),
    path("<int:patient_id>/diagnoses", views.diagnosis, name="diagnosis"),
]
