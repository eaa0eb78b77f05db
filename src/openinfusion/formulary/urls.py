from django.urls import path

from openinfusion.formulary import views

app_name = "formulary"
urlpatterns = [
    path("", views.browser, name="browser"),
    path("drugs/<str:key>/", views.drug_detail, name="drug"),  # keys hold dots: sodium-chloride-0.9
]
