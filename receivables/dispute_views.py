"""Staff pages of disputes: the list with its filters, one dispute (invoice, documents, thread,
owner, resolution form), replies, assignment, review and attachments. Opening and resolving go
through o2c.flow, so their pages are the desk's (o2c/dispute_views.py)."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import dispute_selectors as selectors
from . import disputes
from .dispute_forms import AssignForm, MessageForm, ResolveForm, dispute_owners
from .models import Dispute, DisputeAttachment

FILTERS = ("status", "reason", "owner", "overdue")


@permission_required("receivables.view_dispute")
def dispute_list(request):
    """Every dispute, newest first, 50 a page. Filters (GET): status (or "unresolved"), reason,
    owner (a user id or "none"), overdue=1 (unresolved past the resolve-by date)."""
    today = timezone.localdate()
    filters = {key: request.GET.get(key, "")[:20] for key in FILTERS}
    rows = selectors.disputes_list(
        status=filters["status"],
        reason=filters["reason"],
        owner=filters["owner"],
        overdue_on=today if filters["overdue"] == "1" else None,
    )
    page = keyset_page(request, rows, order=selectors.LIST_ORDER)
    for dispute in page.rows:
        dispute.is_overdue = dispute.status != Dispute.Status.RESOLVED and dispute.due_date and dispute.due_date < today
    context = {"page": page, "filters": filters, "filtered": any(filters.values()), "today": today}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "receivables/disputes.html#results", context)
    context |= {
        "statuses": Dispute.Status.choices,
        "reasons": Dispute.Reason.choices,
        "owners": dispute_owners(),
    }
    return render(request, "receivables/disputes.html", context)


def detail_context(dispute: Dispute, *, message_form=None, assign_form=None, resolve_form=None) -> dict:
    today = timezone.localdate()
    return {
        "dispute": dispute,
        "invoice": dispute.invoice,
        "lines": selectors.lines_of(dispute),
        "attachments": selectors.attachments_of(dispute),
        "thread": selectors.messages_of(dispute),
        "events": selectors.events_of(dispute),
        "is_overdue": dispute.status != Dispute.Status.RESOLVED and dispute.due_date and dispute.due_date < today,
        "message_form": message_form or MessageForm(),
        "assign_form": assign_form
        or AssignForm(initial={"owner": dispute.owner_id, "due_date": dispute.due_date}, auto_id="assign_%s"),
        "resolve_form": resolve_form or ResolveForm(auto_id="resolve_%s"),
    }


def dispute_or_404(pk: int) -> Dispute:
    try:
        return selectors.dispute_detail(pk)
    except Dispute.DoesNotExist as error:
        raise Http404("No such dispute.") from error


@permission_required("receivables.view_dispute")
def dispute_detail(request, pk: int):
    """One dispute: the invoice, what is disputed, documents, the thread, and what AR can do."""
    dispute = dispute_or_404(pk)
    disputes.mark_read(dispute=dispute, by_customer=False)  # AR has now seen the customer's messages
    return render(request, "receivables/dispute_detail.html", detail_context(dispute))


def _back(request, dispute: Dispute):
    target = reverse("receivables:dispute_detail", args=[dispute.pk])
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@permission_required("receivables.change_dispute")
def dispute_reply(request, pk: int):
    """AR writes in the thread (with an optional attachment); the customer sees it in the portal."""
    dispute = dispute_or_404(pk)
    if request.method != "POST":
        return redirect("receivables:dispute_detail", pk=pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("attachment")
        try:
            disputes.add_message(
                dispute=dispute, body=form.cleaned_data["body"], by=request.user, uploads=[upload] if upload else []
            )
        except DomainError as error:
            for _where, field, text in error.problems or [("", "", error.message)]:
                form.add_error(
                    "attachment" if field == "file" else "body" if field == "body" else None,
                    text if field in ("file", "body") else error.message,
                )
        else:
            messages.success(request, "Message sent; the customer sees it in the portal.")
            return _back(request, dispute)
    return render(request, "receivables/dispute_detail.html", detail_context(dispute, message_form=form), status=422)


@permission_required("receivables.change_dispute")
def dispute_assign(request, pk: int):
    dispute = dispute_or_404(pk)
    if request.method != "POST":
        return redirect("receivables:dispute_detail", pk=pk)
    form = AssignForm(request.POST, auto_id="assign_%s")
    if form.is_valid():
        try:
            disputes.assign(
                dispute=dispute,
                owner=form.cleaned_data["owner"],
                due_date=form.cleaned_data["due_date"],
                by=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Owner and resolve-by date saved.")
            return _back(request, dispute)
    return render(request, "receivables/dispute_detail.html", detail_context(dispute, assign_form=form), status=422)


@permission_required("receivables.change_dispute")
def dispute_review(request, pk: int):
    dispute = dispute_or_404(pk)
    if request.method == "POST":
        try:
            disputes.start_review(dispute=dispute, by=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Dispute #{dispute.pk} is under review.")
    return redirect("receivables:dispute_detail", pk=pk)


@permission_required("receivables.view_dispute")
def dispute_attachment(request, pk: int, attachment_id: int):
    """An uploaded file, or the document an automatic attachment links to (a sales order opens its page)."""
    attachment = get_object_or_404(DisputeAttachment, dispute_id=pk, pk=attachment_id)
    return attachment_response(attachment, order_url=lambda order_id: reverse("desk:order_detail", args=[order_id]))


def attachment_response(attachment: DisputeAttachment, *, order_url):
    target = selectors.attachment_target(attachment)
    if target is None:
        raise Http404("This document is not stored yet; try again in a minute.")
    if target.order_id is not None:
        return redirect(order_url(target.order_id))
    try:
        handle = target.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("This document is not stored yet.") from error
    return FileResponse(handle, as_attachment=True, filename=target.filename, content_type=target.content_type)
