"""Approve or discard a dunning run's preview (finance manager): through o2c.flow."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from o2c.core import roles
from o2c.core.errors import DomainError
from receivables.models import DunningRun

from . import flow


@require_POST
@roles.permission_required("receivables.change_dunningrun")
def approve_run(request, pk: int):
    run = get_object_or_404(DunningRun, pk=pk)
    try:
        run = flow.approve_dunning_run(run=run, by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Dunning run of {run.run_date} approved: {run.letters_count} letters are being sent."
        )
    return redirect("receivables:dunning_run", pk=pk)


@require_POST
@roles.permission_required("receivables.change_dunningrun")
def discard_run(request, pk: int):
    run = get_object_or_404(DunningRun, pk=pk)
    try:
        run = flow.discard_dunning_run(run=run, by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Dunning run of {run.run_date} discarded: its items are free for the next run.")
    return redirect("receivables:dunning_run", pk=pk)
