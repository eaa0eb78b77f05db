from django.urls import path

from openinfusion.formulary import views

app_name = "formulary"
urlpatterns = [
    path("", views.browser, name="browser"),
    path("drugs/<slug:key>/", views.drug_detail, name="drug"),
]
