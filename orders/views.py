from django import forms
from django.shortcuts import render

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import selectors
from .models import SalesOrder


class OrderFilterForm(forms.Form):
    """The order list's filters, read from GET: wrong values are dropped, never an error page."""

    q = forms.CharField(label="Order or PO number", required=False, max_length=50)
    customer = forms.CharField(label="Customer", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *SalesOrder.Status.choices])
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *SalesOrder.Channel.choices]
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        """The valid, non-empty filters, as keyword arguments of selectors.order_list."""
        self.is_valid()  # cleaned_data keeps only the fields that validated
        return {name: value for name, value in self.cleaned_data.items() if value}


@permission_required("orders.view_salesorder")
def order_list(request):
    """All orders, newest first, filtered by GET parameters, 50 a page (keyset)."""
    form = OrderFilterForm(request.GET)
    filters = form.filters()
    page = keyset_page(request, selectors.order_list(**filters), order=selectors.ORDER_LIST_ORDER)
    context = {"form": form, "page": page, "filtered": bool(filters)}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "orders/order_list.html#results", context)
    return render(request, "orders/order_list.html", context)


@permission_required("orders.add_salesorder")
def customer_search(request):
    """<option>s for the order page's customer <datalist>; value = account number."""
    q = request.GET.get("q") or request.GET.get("customer_account", "")
    return render(request, "orders/search_options.html#customers", {"customers": selectors.customer_choices(q)})


@permission_required("orders.add_salesorder")
def product_search(request):
    """<option>s for the order page's product <datalist>; value = SKU, with price and stock."""
    q = request.GET.get("q") or request.GET.get("sku", "")
    return render(request, "orders/search_options.html#products", {"products": selectors.product_choices(q)})
