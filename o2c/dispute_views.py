"""Desk pages that move a dispute through the flow: open one on an invoice, resolve one (a
credit note when accepted). The rest of the dispute pages are receivables' own."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from invoicing.models import Invoice
from o2c import flow
from o2c.core.errors import DomainError
from o2c.core.roles import permission_required
from receivables import dispute_selectors
from receivables.dispute_forms import ResolveForm, StaffOpenDisputeForm
from receivables.dispute_views import detail_context, dispute_or_404


@permission_required("receivables.add_dispute")
def dispute_new(request, pk: int):
    """Open a dispute on an issued invoice: whole or chosen lines, reason, owner, due date, a file."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "order"), pk=pk)
    existing = dispute_selectors.open_dispute_of(invoice)
    lines = invoice.lines.all()
    form = StaffOpenDisputeForm(request.POST or None, request.FILES or None, invoice_lines=lines)
    if request.method == "POST" and existing is None and form.is_valid():
        try:
            dispute = flow.open_dispute(invoice=invoice, by=request.user, **form.service_arguments())
        except DomainError as error:
            form.add_problems(error.problems or [("dispute", "", error.message)])
        else:
            messages.success(request, f"Dispute #{dispute.pk} opened for {dispute.amount} {invoice.currency}.")
            target = reverse("receivables:dispute_detail", args=[dispute.pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    context = {"invoice": invoice, "form": form, "existing": existing, "line_rows": form.line_rows()}
    return render(request, "receivables/dispute_new.html", context, status=422 if form.errors else 200)


@permission_required("receivables.change_dispute")
def dispute_resolve(request, pk: int):
    """Resolve: credit note for all of it, partly accepted (credit note for the accepted part),
    rejected, or paid. A refusal shows the dispute page again with the reasons at the fields."""
    dispute = dispute_or_404(pk)
    if request.method != "POST":
        return redirect("receivables:dispute_detail", pk=pk)
    form = ResolveForm(request.POST, auto_id="resolve_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            dispute = flow.resolve_dispute(
                dispute=dispute,
                outcome=data["outcome"],
                accepted_amount=data["accepted_amount"],
                note=data["note"],
                by=request.user,
            )
        except DomainError as error:
            form.add_problems(error.problems or [("resolution", "", error.message)])
        else:
            text = f"Dispute #{dispute.pk} resolved: {dispute.get_resolution_display().lower()}."
            if dispute.credit_note_id:
                text += f" Credit note {dispute.credit_note.number} of {dispute.credit_note.total} issued."
            messages.success(request, text)
            target = reverse("receivables:dispute_detail", args=[dispute.pk])
            return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    return render(request, "receivables/dispute_detail.html", detail_context(dispute, resolve_form=form), status=422)
