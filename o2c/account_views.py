"""The customer account page (the AR clerk's 360 view) and its forms. It sits at the top layer
because it shows credit figures (credit is above receivables) next to the receivables ones.

Every section is one query (or a fixed few), whatever the account's size: lists are capped
and say so."""

import datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from credit import selectors as credit_selectors
from credit.models import CreditProfile
from invoicing.models import Invoice
from o2c.core import roles
from o2c.core.errors import DomainError
from orders.models import Customer
from receivables import account_statement, collections, selectors
from receivables.forms import (
    CallForm,
    CompleteTaskForm,
    FollowUpForm,
    NoteForm,
    PromiseForm,
    StatementPeriodForm,
    TemplateEmailForm,
)
from receivables.models import CollectionActivity, CollectorAssignment, Dispute, DunningItem, Payment

LIST_LIMIT = 50


def _customer(pk: int) -> Customer:
    return get_object_or_404(Customer.objects.select_related("payment_terms", "parent"), pk=pk)


def _context(customer: Customer, *, today: datetime.date, forms: dict | None = None) -> dict:
    open_items = list(
        Invoice.objects.filter(customer=customer, status=Invoice.Status.ISSUED, amount_open__gt=0)
        .only("number", "kind", "issue_date", "due_date", "total", "amount_open", "currency")
        .order_by("due_date", "id")[: LIST_LIMIT + 1]
    )
    for item in open_items:
        item.days_overdue = selectors.days_overdue(item.due_date, on=today)
    profile = CreditProfile.objects.filter(customer=customer).first()
    exposure, exposure_problem = None, ""
    if profile is not None:
        try:
            exposure = credit_selectors.exposure_of(customer, currency=profile.currency, on=today)
        except DomainError as error:
            exposure_problem = str(error)
    aging = collections.customer_aging(customer, on=today)
    month_start, month_end = account_statement.month_before(today)
    forms = forms or {}
    context = {
        "customer": customer,
        "today": today,
        "contacts": list(customer.contacts.all()),
        "balance": selectors.ledger_balance(customer),
        "aging": aging,
        "aging_total": sum(bucket["amount"] for bucket in aging),
        "open_items": open_items[:LIST_LIMIT],
        "more_open_items": len(open_items) > LIST_LIMIT,
        "payments": Payment.objects.filter(customer=customer).order_by("-value_date", "-id")[:20],
        "credit_notes": Invoice.objects.filter(customer=customer, kind=Invoice.Kind.CREDIT_NOTE)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("credited_invoice")
        .order_by("-issue_date", "-id")[:20],
        "disputes": Dispute.objects.filter(customer=customer)
        .select_related("invoice", "owner")
        .order_by("-opened_at")[:20],
        "promises": collections.promises_of(customer),
        "activities": collections.activities_of(customer),
        "open_tasks": collections.open_tasks_of(customer),
        "dunning_items": DunningItem.objects.filter(letter__customer=customer)
        .select_related("letter__run", "level", "invoice")
        .order_by("-letter__run__run_date", "-id")[:LIST_LIMIT],
        "assignment": CollectorAssignment.objects.filter(customer=customer).select_related("collector__user").first(),
        "profile": profile,
        "exposure": exposure,
        "exposure_problem": exposure_problem,
        "call_form": forms.get("call") or CallForm(),
        "promise_form": forms.get("promise") or PromiseForm(customer=customer, open_items=open_items[:LIST_LIMIT]),
        "email_form": forms.get("email") or TemplateEmailForm(),
        "note_form": forms.get("note") or NoteForm(),
        "follow_up_form": forms.get("follow_up") or FollowUpForm(),
        "statement_form": StatementPeriodForm(initial={"start": month_start, "end": today}),
        "task_form": CompleteTaskForm(),
    }
    return context


@roles.permission_required("receivables.view_collectionactivity")
def customer_account(request, pk: int):
    customer = _customer(pk)
    return render(request, "o2c/customer_account.html", _context(customer, today=timezone.localdate()))


def _refused(request, customer: Customer, name: str, form, error: DomainError | None = None):
    if error is not None:
        form.add_error(None, str(error))
    context = _context(customer, today=timezone.localdate(), forms={name: form})
    return render(request, "o2c/customer_account.html", context, status=400)


def _done(request, customer: Customer, text: str):
    messages.success(request, text)
    return redirect("desk:customer_account", pk=customer.pk)


@roles.permission_required("receivables.add_collectionactivity")
def log_call(request, pk: int):
    customer = _customer(pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=pk)
    form = CallForm(request.POST)
    if not form.is_valid():
        return _refused(request, customer, "call", form)
    try:
        collections.log_call(customer=customer, on=timezone.localdate(), by=request.user, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, customer, "call", form, error)
    return _done(request, customer, "Call logged.")


@roles.permission_required("receivables.add_promisetopay")
def record_promise(request, pk: int):
    customer = _customer(pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=pk)
    form = PromiseForm(request.POST, customer=customer)
    if not form.is_valid():
        return _refused(request, customer, "promise", form)
    data = form.cleaned_data
    try:
        promise = collections.record_promise(
            customer=customer,
            promised_date=data["promised_date"],
            amount=data["amount"],
            invoices=list(data["invoices"]),
            note=data["note"],
            on=timezone.localdate(),
            by=request.user,
        )
    except DomainError as error:
        return _refused(request, customer, "promise", form, error)
    return _done(
        request,
        customer,
        f"Promise to pay {promise.amount} {promise.currency} by {promise.promised_date:%Y-%m-%d} recorded.",
    )


@roles.permission_required("receivables.add_collectionactivity")
def send_email(request, pk: int):
    customer = _customer(pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=pk)
    form = TemplateEmailForm(request.POST)
    if not form.is_valid():
        return _refused(request, customer, "email", form)
    attachments = []
    today = timezone.localdate()
    if form.cleaned_data["template"] == "statement_enclosed":
        start, _ = account_statement.month_before(today)
        result = account_statement.statement(customer, start=start, end=today)
        attachments.append(
            (account_statement.statement_filename(result), account_statement.statement_pdf(result), "application/pdf")
        )
    try:
        activity = collections.send_template_email(
            customer=customer,
            template=form.cleaned_data["template"],
            on=today,
            by=request.user,
            attachments=attachments,
        )
    except (DomainError, OSError) as error:
        return _refused(request, customer, "email", form, DomainError(f"The email was not sent: {error}"))
    return _done(request, customer, activity.summary)


@roles.permission_required("receivables.add_collectionactivity")
def add_note(request, pk: int):
    customer = _customer(pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _refused(request, customer, "note", form)
    try:
        collections.add_note(customer=customer, by=request.user, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, customer, "note", form, error)
    return _done(request, customer, "Note saved.")


@roles.permission_required("receivables.add_collectionactivity")
def set_follow_up(request, pk: int):
    customer = _customer(pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=pk)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return _refused(request, customer, "follow_up", form)
    try:
        collections.set_follow_up(
            customer=customer, on=timezone.localdate(), follow_up_on=form.cleaned_data["follow_up_on"], by=request.user
        )
    except DomainError as error:
        return _refused(request, customer, "follow_up", form, error)
    day = form.cleaned_data["follow_up_on"]
    return _done(request, customer, f"Follow up on {day:%Y-%m-%d}." if day else "Follow-up date cleared.")


@roles.permission_required("receivables.add_collectionactivity")
def complete_task(request, pk: int):
    task = get_object_or_404(CollectionActivity.objects.select_related("customer"), pk=pk)
    if request.method != "POST":
        return redirect("desk:customer_account", pk=task.customer_id)
    form = CompleteTaskForm(request.POST)
    if form.is_valid():
        try:
            collections.complete_task(activity=task, by=request.user, **form.cleaned_data)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Task done.")
    return redirect("desk:customer_account", pk=task.customer_id)


@roles.permission_required("receivables.view_collectionactivity")
def statement_pdf(request, pk: int):
    """The statement of account for a period (GET start, end) as a PDF, rendered on demand."""
    customer = _customer(pk)
    form = StatementPeriodForm(request.GET)
    if not form.is_valid():
        context = _context(customer, today=timezone.localdate())
        context["statement_form"] = form
        return render(request, "o2c/customer_account.html", context, status=400)
    result = account_statement.statement(customer, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    response = HttpResponse(account_statement.statement_pdf(result), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{account_statement.statement_filename(result)}"'
    return response
