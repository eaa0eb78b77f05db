from django.urls import path

from openinfusion.inventory import views

app_name = "inventory"
urlpatterns = [
    path("", views.stock, name="stock"),
    path("receive/", views.receive, name="receive"),
    path("expiring/", views.expiring, name="expiring"),
    path("recall/", views.recall, name="recall"),
    path("barcodes.pdf", views.barcode_sheet, name="barcodes"),
    path("restock/", views.restock, name="restock"),
    path("lots/<int:lot_id>/", views.lot_detail, name="lot"),
    path("lots/<int:lot_id>/quarantine", views.quarantine, name="quarantine"),
    path("lots/<int:lot_id>/waste", views.waste, name="waste"),
    path("lots/<int:lot_id>/transfer", views.transfer, name="transfer"),
    path("reorder/", views.reorder, name="reorder"),
    path("purchase-orders/", views.purchase_orders, name="purchase_orders"),
    path("purchase-orders/<int:order_id>/send", views.purchase_order_action, {"verb": "send"}, name="po_send"),
    path("purchase-orders/<int:order_id>/cancel", views.purchase_order_action, {"verb": "cancel"}, name="po_cancel"),
]
