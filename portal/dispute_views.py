"""Disputes in the portal: raise one on an invoice (or some of its lines) with a reason and
files, follow its status, talk with our AR team. Wrapped in portal_view and scoped like every
portal view; raising and replying need the "dispute" right. Each action leaves a timeline event
on the invoice's trail (receivables.disputes), with the portal user as actor."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from invoicing.models import Invoice
from o2c import flow
from o2c.core.errors import DomainError
from o2c.core.pagination import keyset_page
from receivables import dispute_selectors, disputes
from receivables.dispute_forms import MessageForm, OpenDisputeForm
from receivables.dispute_views import attachment_response
from receivables.models import Dispute, DisputeAttachment

from .scoping import has_right, portal_view, scoped


def _disputes(request):
    return scoped(Dispute.objects.select_related("invoice"), request)


@portal_view()
def disputes_list(request):
    """The customer's disputes, newest first, with their status and messages not read yet."""
    rows = _disputes(request).annotate(
        unread=Count("messages", filter=Q(messages__from_customer=False, messages__read_at__isnull=True))
    )
    page = keyset_page(request, rows, order=dispute_selectors.LIST_ORDER)
    return render(request, "portal/disputes.html", {"page": page, "can_dispute": has_right(request, "dispute")})


@portal_view("dispute")
def dispute_new(request, invoice_id: int):
    """Raise a dispute on one of the customer's open invoices: whole, or ticked lines."""
    invoice = get_object_or_404(
        scoped(Invoice.objects.filter(kind=Invoice.Kind.INVOICE).exclude(status=Invoice.Status.DRAFT), request),
        pk=invoice_id,
    )
    existing = scoped(Dispute.objects.filter(invoice=invoice, status__in=dispute_selectors.OPEN), request).first()
    form = OpenDisputeForm(request.POST or None, request.FILES or None, invoice_lines=invoice.lines.all())
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            dispute = flow.open_dispute(invoice=invoice, by=request.user, in_portal=True, **form.service_arguments())
        except DomainError as error:
            form.add_problems(error.problems or [("dispute", "", error.message)])
        else:
            messages.success(
                request,
                f"Thank you: your dispute #{dispute.pk} is sent. We do not chase the disputed "
                f"{dispute.amount} {invoice.currency} while we look into it.",
            )
            return redirect("portal:dispute_detail", dispute_id=dispute.pk)
    context = {
        "invoice": invoice,
        "form": form,
        "existing": existing,
        "line_rows": form.line_rows(),
        "disputable": invoice.status == Invoice.Status.ISSUED and invoice.amount_open > 0,
    }
    return render(request, "portal/dispute_new.html", context, status=422 if form.errors else 200)


@portal_view()
def dispute_detail(request, dispute_id: int):
    """One dispute: status, what is disputed, documents, the thread; reply with a file (POST,
    needs the "dispute" right). Opening it marks our messages read."""
    dispute = get_object_or_404(_disputes(request).select_related("credit_note"), pk=dispute_id)
    form = MessageForm()
    if request.method == "POST":
        if not has_right(request, "dispute"):
            raise PermissionDenied("Your login may not write in disputes; ask a colleague who manages users.")
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data.get("attachment")
            try:
                disputes.add_message(
                    dispute=dispute,
                    body=form.cleaned_data["body"],
                    by=request.user,
                    from_customer=True,
                    uploads=[upload] if upload else [],
                )
            except DomainError as error:
                for _where, field, text in error.problems or [("", "", error.message)]:
                    form.add_error(
                        "attachment" if field == "file" else "body" if field == "body" else None,
                        text if field in ("file", "body") else error.message,
                    )
            else:
                messages.success(request, "Your message is sent to our team.")
                return redirect("portal:dispute_detail", dispute_id=dispute.pk)
    else:
        disputes.mark_read(dispute=dispute, by_customer=True)
    context = {
        "dispute": dispute,
        "invoice": dispute.invoice,
        "lines": dispute_selectors.lines_of(dispute),
        "attachments": dispute_selectors.attachments_of(dispute),
        "thread": dispute_selectors.messages_of(dispute),
        "form": form,
        "can_dispute": has_right(request, "dispute"),
    }
    return render(request, "portal/dispute_detail.html", context, status=422 if form.errors else 200)


@portal_view()
def dispute_attachment(request, dispute_id: int, attachment_id: int):
    attachment = get_object_or_404(
        scoped(DisputeAttachment.objects.all(), request, via="dispute__customer"),
        dispute_id=dispute_id,
        pk=attachment_id,
    )
    return attachment_response(
        attachment, order_url=lambda order_id: reverse("portal:order_detail", kwargs={"order_id": order_id})
    )
