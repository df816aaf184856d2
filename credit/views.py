"""Credit pages: the hold queue, a customer's credit profile (exposure, limit history, four
eyes), the policy, applications and the review queue. Decisions that move orders are posted
to the desk (o2c.views), which calls o2c.flow."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from o2c.core import timeline
from o2c.core.errors import DomainError
from o2c.core.money import format_money
from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required
from orders.models import Customer

from . import selectors, services
from .forms import (
    ApplicationDecisionForm,
    ApplicationForm,
    HoldQueueForm,
    LimitChangeForm,
    LimitDecisionForm,
    PolicyForm,
    ReviewResolveForm,
)
from .models import CreditApplication, CreditLimitChange, CreditProfile, ReviewItem

QUEUE_PER_PAGE = 50


@permission_required("credit.decide_credit_hold")
def holds(request):
    """The credit manager's queue: each held order with exposure (and its parts), limit,
    overdue, risk class and reasons; released or rejected in place. Keyset pages of 50,
    oldest or largest first; a constant number of queries whatever the queue's length."""
    form = HoldQueueForm(request.GET)
    sort = form.cleaned_data.get("sort") if form.is_valid() else ""
    sort = sort or "oldest"
    page = keyset_page(request, selectors.held_orders(), order=selectors.HOLD_SORTS[sort], per_page=QUEUE_PER_PAGE)
    rows = selectors.queue_rows(page.rows, on=timezone.localdate())
    # URLs built once, not reversed five times per row (template time dominates this page)
    order_url, decide_url, profile_url = (
        reverse(name, args=[0]).replace("/0/", "/{}/")
        for name in ["desk:order_detail", "desk:credit_decision", "credit:profile"]
    )
    for row in rows:
        row.order_url = order_url.format(row.order.pk)
        row.decide_url = decide_url.format(row.order.pk)
        row.profile_url = profile_url.format(row.order.customer_id)
        _format_row(row)
    context = {
        "page": page,
        "rows": rows,
        "sort": sort,
        "sorts": form.fields["sort"].choices,
        "queue_url": request.path,
    }
    return render(request, "credit/holds.html", context)


def _format_row(row) -> None:
    """Money and dates formatted once in Python (the template localiser is the slow part)."""
    order = row.order
    row.submitted = timezone.localtime(order.submitted_at).strftime("%d %b %H:%M") if order.submitted_at else ""
    row.order_total = format_money(order.total, order.currency)
    row.limit_text = format_money(row.limit, row.currency) if row.limit is not None else "none"
    row.overdue_text = (
        f"{format_money(row.overdue, row.currency)} (oldest {row.oldest_overdue_days} d)" if row.overdue else "—"
    )
    if row.exposure:
        e = row.exposure
        row.exposure_total = format_money(e.total, row.currency)
        parts = [f"AR {format_money(e.open_receivables)}"]
        if e.shipped_not_invoiced:
            parts.append(f"+ shipped {format_money(e.shipped_not_invoiced)}")
        if e.approved_not_shipped:
            parts.append(f"+ approved {format_money(e.approved_not_shipped)}")
        if e.unapplied_cash:
            parts.append(f"− cash {format_money(e.unapplied_cash)}")
        row.exposure_parts = " ".join(parts)


# --- a customer's credit ------------------------------------------------------------------------
@permission_required("credit.view_creditprofile")
def profile_detail(request, customer_id: int):
    customer = get_object_or_404(Customer.objects.select_related("parent"), pk=customer_id)
    profile = CreditProfile.objects.filter(customer=customer).first()
    today = timezone.localdate()
    context = {"customer": customer, "profile": profile, "limit_form": LimitChangeForm(), "today": today}
    if profile:
        rates = selectors.Rates(today)
        try:
            context["exposure"] = selectors.exposure_of(customer, currency=profile.currency, on=today, rates=rates)
            parent_id, members = selectors.group_ids(customer)
            if members:
                context["group_exposure"] = selectors.group_exposure_of(members, currency=profile.currency, rates=rates)
        except selectors.MissingRate as error:
            context["rate_problem"] = error.message
        context["changes"] = profile.limit_changes.select_related("requested_by", "approved_by")[:50]
        context["events"] = timeline.events_for(f"customer:{customer.pk}")[:50]
    context["applications"] = customer.credit_applications.select_related("decided_by")[:10]
    return render(request, "credit/profile_detail.html", context)


@permission_required("credit.change_credit_limit")
def change_limit(request, customer_id: int):
    profile = get_object_or_404(CreditProfile, customer_id=customer_id)
    if request.method != "POST":
        return redirect("credit:profile", customer_id=customer_id)
    form = LimitChangeForm(request.POST)
    if form.is_valid():
        try:
            change = services.request_limit_change(profile=profile, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            if change.status == CreditLimitChange.Status.APPLIED:
                messages.success(request, f"Credit limit changed to {change.new_limit} {change.currency}.")
            else:
                messages.warning(
                    request,
                    f"The raise to {change.new_limit} {change.currency} is above the four-eyes threshold: "
                    "it waits for a second person's approval.",
                )
            return redirect("credit:profile", customer_id=customer_id)
    else:
        messages.error(
            request, "The limit was not changed: " + "; ".join(f"{k}: {v[0]}" for k, v in form.errors.items())
        )
    return redirect("credit:profile", customer_id=customer_id)


@permission_required("credit.approve_limit_change")
def limit_approvals(request):
    pending = CreditLimitChange.objects.filter(status=CreditLimitChange.Status.PENDING).select_related(
        "profile__customer", "requested_by"
    )
    return render(request, "credit/limit_approvals.html", {"pending": pending, "form": LimitDecisionForm()})


@permission_required("credit.approve_limit_change")
def decide_limit(request, pk: int):
    change = get_object_or_404(CreditLimitChange, pk=pk)
    if request.method == "POST":
        form = LimitDecisionForm(request.POST)
        if form.is_valid():
            try:
                services.decide_limit_change(
                    change=change,
                    approve=form.cleaned_data["decision"] == "approve",
                    by=request.user,
                    note=form.cleaned_data["note"],
                )
            except DomainError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Limit change {change.get_status_display().lower()} recorded.")
    return redirect("credit:limit_approvals")


# --- policy --------------------------------------------------------------------------------------
@permission_required("credit.view_creditpolicy")
def policy(request):
    """The policy in force and its history; finance managers publish a new version."""
    current = selectors.current_policy()
    can_publish = request.user.has_perm("credit.publish_creditpolicy")
    form = PolicyForm(instance=current, initial={"note": ""})
    if request.method == "POST" and can_publish:
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                new = services.publish_policy(by=request.user, **form.cleaned_data)
            except DomainError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Credit policy v{new.version} is in force from now on.")
                return redirect("credit:policy")
    versions = type(current).objects.select_related("created_by")[:20]
    return render(
        request,
        "credit/policy.html",
        {"current": current, "form": form, "versions": versions, "can_publish": can_publish},
        status=422 if form.errors else 200,
    )


# --- applications --------------------------------------------------------------------------------
@permission_required("credit.add_creditapplication")
def application_new(request):
    form = ApplicationForm(
        request.POST or None, request.FILES or None, initial={"customer_account": request.GET.get("customer", "")}
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        account = data.pop("customer_account")
        customer = Customer.objects.filter(account_number=account.strip()).first()
        if customer is None:
            form.add_error("customer_account", f"No customer with account number '{account}'.")
        else:
            try:
                services.submit_application(customer=customer, by=request.user, **data)
            except DomainError as error:
                for _, field, text in error.problems:
                    name = field.replace(" ", "_")
                    form.add_error(name if name in form.fields else None, text)
            else:
                messages.success(
                    request, f"Credit application for {customer.name} submitted; a credit manager decides."
                )
                return redirect(
                    "credit:applications" if request.user.has_perm("credit.decide_creditapplication") else "home"
                )
    return render(request, "credit/application_new.html", {"form": form}, status=422 if form.errors else 200)


@permission_required("credit.decide_creditapplication")
def applications(request):
    return render(
        request,
        "credit/applications.html",
        {"applications": selectors.pending_applications(), "form": ApplicationDecisionForm()},
    )


@permission_required("credit.decide_creditapplication")
def application_document(request, pk: int):
    from django.http import FileResponse, Http404

    application = get_object_or_404(CreditApplication, pk=pk)
    if not application.document:
        raise Http404("No document")
    extension = application.document.name.rsplit(".", 1)[-1]
    return FileResponse(
        application.document.open("rb"), as_attachment=True, filename=f"application-{application.pk}.{extension}"
    )


# --- review queue --------------------------------------------------------------------------------
@permission_required("credit.view_reviewitem")
def review_queue(request):
    items = keyset_page(request, selectors.open_review_items(), order=("listed_on", "id"))
    return render(request, "credit/review_queue.html", {"page": items, "form": ReviewResolveForm()})


@permission_required("credit.change_credit_limit")
def resolve_review(request, pk: int):
    item = get_object_or_404(ReviewItem, pk=pk)
    if request.method == "POST":
        form = ReviewResolveForm(request.POST)
        if form.is_valid():
            try:
                services.resolve_review(item=item, by=request.user, resolution=form.cleaned_data["resolution"])
            except DomainError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Review of {item.profile.customer.name} recorded.")
        else:
            messages.error(request, "Say what the review concluded.")
    return redirect("credit:review_queue")
