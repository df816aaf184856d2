"""Staff side of the portal: change requests customers sent, and inviting customer users."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required
from orders.models import Customer

from . import services
from .forms import HandleChangeForm, StaffInviteForm
from .models import ChangeRequest


@permission_required("portal.view_changerequest")
def change_requests(request):
    """Open requests first (oldest waiting longest first), then the handled ones."""
    status = request.GET.get("status", ChangeRequest.Status.OPEN)
    rows = ChangeRequest.objects.select_related("customer", "requested_by", "handled_by")
    if status in ChangeRequest.Status.values:
        rows = rows.filter(status=status)
    page = keyset_page(request, rows, order=("-requested_at", "-id"))
    return render(
        request,
        "portal/staff/change_requests.html",
        {"page": page, "status": status, "statuses": ChangeRequest.Status.choices, "form": HandleChangeForm()},
    )


@permission_required("portal.change_changerequest")
@require_POST
def handle_change_request(request, pk: int):
    change = get_object_or_404(ChangeRequest, pk=pk)
    form = HandleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose done or rejected.")
    else:
        try:
            services.handle_change_request(change=change, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Request of {change.customer.name} marked {form.cleaned_data['status']}.")
    return redirect("portal_staff:change_requests")


@permission_required("portal.view_changerequest")
def change_request_attachment(request, pk: int):
    change = get_object_or_404(ChangeRequest, pk=pk)
    if not change.attachment:
        raise Http404("This request has no attachment.")
    return FileResponse(change.attachment.open("rb"), as_attachment=True)


@permission_required("portal.invite_portal_user")
def invite(request):
    """Invite a user of a customer account: they get an email with a one-time link to choose a password."""
    form = StaffInviteForm(
        request.POST or None,
        initial={"can_order": True, "can_pay": True, "can_dispute": True, "can_manage_users": True},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = Customer.objects.filter(account_number=data["customer_account"].strip()).first()
        if customer is None:
            form.add_error("customer_account", f"No customer with account number {data['customer_account']}.")
        else:
            try:
                access = services.invite_user(
                    customer=customer,
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    rights=data,
                    by=request.user,
                )
            except DomainError as error:
                for _where, field, text in error.problems:
                    form.add_error(field if field in form.fields else None, text)
            else:
                messages.success(request, f"{access.user.email} of {customer.name} is invited by email.")
                return redirect("portal_staff:invite")
    return render(request, "portal/staff/invite.html", {"form": form}, status=422 if form.errors else 200)
