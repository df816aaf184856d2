from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import customers, selectors
from .forms import AddressFormSet, ContactFormSet, CustomerForm
from .models import Customer, SalesOrder


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
    sort = request.GET.get("sort", "-date")
    if sort not in selectors.ORDER_SORTS:
        sort = "-date"
    page = keyset_page(request, selectors.order_list(**filters), order=selectors.ORDER_SORTS[sort])
    params = request.GET.copy()
    params.pop("after", None)
    sort_links = {}
    for column in ("date", "total"):
        params["sort"] = column if sort == f"-{column}" else f"-{column}"
        sort_links[column] = {
            "url": f"{request.path}?{params.urlencode()}",
            "state": "descending" if sort == f"-{column}" else "ascending" if sort == column else "none",
        }
    context = {"form": form, "page": page, "filtered": bool(filters), "sort": sort, "sort_links": sort_links}
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


# Customers ---------------------------------------------------------------------------------------
class CustomerFilterForm(forms.Form):
    q = forms.CharField(label="Name, account or tax id", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any"), ("active", "Active"), ("blocked", "Blocked")]
    )
    segment = forms.CharField(label="Segment", required=False, max_length=30)

    def filters(self) -> dict:
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


@permission_required("orders.view_customer")
def customer_list(request):
    form = CustomerFilterForm(request.GET)
    filters = form.filters()
    page = keyset_page(request, selectors.customer_list(**filters), order=selectors.CUSTOMER_LIST_ORDER)
    context = {"form": form, "page": page, "filtered": bool(filters)}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "orders/customer_list.html#results", context)
    return render(request, "orders/customer_list.html", context)


@permission_required("orders.add_customer")
def customer_new(request):
    return _customer_form(request, Customer())


@permission_required("orders.view_customer")
def customer_edit(request, pk: int):
    """The customer's page: read by anyone who may see customers, saved only with change_customer."""
    if request.method == "POST" and not request.user.has_perm("orders.change_customer"):
        raise PermissionDenied("Changing a customer needs the permission orders.change_customer.")
    return _customer_form(request, get_object_or_404(Customer, pk=pk))


def _customer_form(request, customer: Customer):
    """Create or edit a customer with its addresses and contacts. An htmx POST with
    action=validate re-renders the fields with their errors and saves nothing (inline
    validation); a new customer that looks like an existing one is saved only once the clerk
    confirms it is a different one."""
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, instance=customer)
    addresses = AddressFormSet(data, instance=customer, prefix="addresses")
    contacts = ContactFormSet(data, instance=customer, prefix="contacts")
    creating = customer.pk is None
    duplicates = []
    if data is not None and creating:
        duplicates = selectors.similar_customers(name=data.get("name", ""), tax_id=form.data.get("tax_id", ""))
    context = {
        "form": form,
        "addresses": addresses,
        "contacts": contacts,
        "customer": customer,
        "creating": creating,
        "duplicates": duplicates,
    }
    if data is None:
        return render(request, "orders/customer_form.html", context)
    valid = all([form.is_valid(), addresses.is_valid(), contacts.is_valid()])
    if request.POST.get("action") == "validate":
        for name in [n for n in form.errors if n != "__all__" and not str(form.data.get(n, "")).strip()]:
            del form.errors[name]  # a field not filled in yet is not marked while the clerk types
        return render(request, "orders/customer_form.html#fields", context, status=200 if valid else 422)
    if valid and duplicates and request.POST.get("confirm_not_duplicate") != "1":
        context["duplicate_error"] = "Tick the box to confirm this is a different customer, or open the existing one."
        valid = False
    if valid:
        saved = customers.save_customer(
            customer=form.save(commit=False), addresses=addresses, contacts=contacts, by=request.user
        )
        messages.success(request, f"Customer {saved.name} ({saved.account_number}) saved.")
        return redirect("orders:customer_edit", pk=saved.pk)
    messages.error(request, "The customer was not saved. Fix the fields marked below.")
    return render(request, "orders/customer_form.html", context, status=422)
