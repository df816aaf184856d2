"""Dunning and reminder pages (read side): runs, a run's letters with their items and skips,
letter PDFs, the collection agency list, the reminders sent. Approving or discarding a run
moves documents between stages, so those two buttons post to o2c/dunning_views.py (the flow)."""

from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required

from . import dunning
from .models import CollectionSkip, DunningItem, DunningLetter, DunningRun, Reminder

SKIPS_SHOWN = 200


@permission_required("receivables.view_dunningrun")
def runs(request):
    """Every dunning run, newest first, 50 a page (keyset)."""
    page = keyset_page(request, DunningRun.objects.all(), order=("-run_date", "-id"))
    return render(request, "receivables/dunning_runs.html", {"page": page})


@permission_required("receivables.view_dunningrun")
def run_detail(request, pk: int):
    """One run: its letters (50 a page) with every item at its level, fee and interest; the
    items skipped with their reasons; approve and discard for a finance manager."""
    run = get_object_or_404(DunningRun.objects.select_related("approved_by"), pk=pk)
    letters = (
        DunningLetter.objects.filter(run=run)
        .select_related("customer", "level", "charge")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=DunningItem.objects.select_related("invoice", "level").order_by("invoice__due_date", "id"),
            )
        )
    )
    page = keyset_page(request, letters, order=("id",))
    skips = run.skips.select_related("invoice__customer").order_by("reason", "invoice__due_date", "id")
    context = {
        "run": run,
        "page": page,
        "skip_counts": [
            {"label": CollectionSkip.Reason(row["reason"]).label, "n": row["n"]}
            for row in run.skips.values("reason").annotate(n=Count("id")).order_by("reason")
        ],
        "skips": skips[:SKIPS_SHOWN],
        "skips_shown": SKIPS_SHOWN,
        "can_approve": request.user.has_perm("receivables.change_dunningrun")
        and run.status == DunningRun.Status.PREVIEW,
    }
    return render(request, "receivables/dunning_run.html", context)


@permission_required("receivables.view_dunningrun")
def letter_pdf(request, pk: int):
    """The letter as sent (stored), or as it would be (a preview, or a call task's letter)."""
    letter = get_object_or_404(DunningLetter.objects.select_related("run", "customer"), pk=pk)
    if letter.pdf:
        with letter.pdf.open("rb") as handle:
            content = handle.read()
    else:
        from . import documents  # WeasyPrint loads only where letters are rendered

        content = documents.letter_pdf(letter)
    response = HttpResponse(content, content_type="application/pdf")
    name = f"dunning-{letter.run.run_date}-{letter.customer.account_number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@permission_required("receivables.view_dunningrun")
def agency(request):
    """Open items that reached a level handing them over to the collection agency."""
    page = keyset_page(request, dunning.agency_items(), order=("id",))
    return render(request, "receivables/dunning_agency.html", {"page": page})


@permission_required("receivables.view_dunningrun")
def reminders(request):
    """Pre-due reminders, newest first (sent, or waiting for the worker)."""
    rows = Reminder.objects.select_related("invoice__customer")
    page = keyset_page(request, rows, order=("-sent_on", "-id"))
    return render(request, "receivables/reminders.html", {"page": page})
