"""CSV order import pages: upload -> preview (every row's problems, nothing saved) -> the
clerk confirms (good orders only when some are bad) -> import (here for a small file, in a
Celery worker with a polled progress bar for a big one) -> report."""

import csv
import io

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from o2c import flow, tasks
from o2c.core import roles
from orders import imports
from orders.models import OrderImport

PROBLEMS_SHOWN = 500


class UploadForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,  # orders.imports says why an empty file imports nothing
        label="CSV file",
        help_text="UTF-8 CSV, comma or semicolon separated, up to 10 MB; the first line names the columns.",
    )


def inline_limit() -> int:
    """Files with more orders than this are imported by a worker, with a progress bar."""
    return getattr(settings, "O2C_IMPORT_INLINE_MAX_ORDERS", 25)


@roles.permission_required("orders.add_salesorder")
def import_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > imports.MAX_BYTES:
                raise imports.ImportFileError(
                    f"The file is {upload.size // 1024} KB; the limit is {imports.MAX_BYTES // 1024 // 1024} MB."
                )
            order_import = imports.create_import(filename=upload.name, data=upload.read(), by=request.user)
        except imports.ImportFileError as error:
            form.add_error("file", f"Nothing was imported. {error.message}")
        else:
            return redirect("desk:order_import", pk=order_import.pk)
    if request.method == "POST":
        status = 422
    recent = OrderImport.objects.filter(created_by=request.user).only(
        "filename", "status", "created_at", "order_count", "imported_count", "bad_order_count"
    )[:10]
    context = {"form": form, "columns": imports.COLUMNS, "recent": recent}
    return render(request, "o2c/order_import.html", context, status=status)


@roles.permission_required("orders.add_salesorder")
def import_template(request):
    response = HttpResponse(imports.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="order-import-template.csv"'
    return response


def _import_of(request, pk: int) -> OrderImport:
    imports_visible = OrderImport.objects.select_related("created_by")
    if not request.user.has_perm("orders.view_orderimport"):
        imports_visible = imports_visible.filter(created_by=request.user)
    return get_object_or_404(imports_visible.defer("content"), pk=pk)


@roles.permission_required("orders.add_salesorder")
def import_detail(request, pk: int):
    """The preview, the progress bar or the report, by the import's status."""
    order_import = _import_of(request, pk)
    return render(request, "o2c/order_import_detail.html", _detail_context(order_import))


def _detail_context(order_import: OrderImport, **extra) -> dict:
    problems = order_import.problems
    results = [r for r in order_import.results if "key" in r]
    return {
        "imp": order_import,
        "problems": problems[:PROBLEMS_SHOWN],
        "more_problems": max(len(problems) - PROBLEMS_SHOWN, 0),
        "bad_rows": len({p[0] for p in problems}),
        "warnings": imports.warnings_of(order_import),
        "failed": [r for r in results if r["outcome"] == "failed"],
        "imported": [r for r in results if r["outcome"] != "failed"],
        "held": sum(1 for r in results if r["outcome"] == "credit_hold"),
        "approved": sum(1 for r in results if r["outcome"] == "approved"),
        "skipped": [
            {"key": key, "problems": [p for p in problems if p[3] == key]}
            for key in dict.fromkeys(p[3] for p in problems)
        ]
        if order_import.status == OrderImport.Status.DONE
        else [],
        **extra,
    }


@roles.permission_required("orders.add_salesorder")
def import_confirm(request, pk: int):
    order_import = _import_of(request, pk)
    if request.method != "POST":
        return redirect("desk:order_import", pk=pk)
    if request.POST.get("action") == "discard":
        try:
            imports.discard_import(order_import=order_import, by=request.user)
        except imports.ImportError_ as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{order_import.filename} discarded: nothing was imported.")
            return redirect("desk:order_import_upload")
        return redirect("desk:order_import", pk=pk)
    try:
        order_import = imports.confirm_import(
            order_import=order_import, good_only=request.POST.get("good_only") == "1", by=request.user
        )
    except imports.ImportError_ as error:
        messages.error(request, error.message)
        context = _detail_context(order_import, choose_error=error.message)
        return render(request, "o2c/order_import_detail.html", context, status=422)
    if order_import.to_import_count <= inline_limit():
        flow.import_orders(order_import_id=order_import.pk)
        messages.success(request, "Import finished: the report is below.")
    else:
        transaction.on_commit(lambda: tasks.import_orders.delay(order_import.pk), robust=True)
        messages.info(
            request, f"Importing {order_import.to_import_count} orders in the background; this page follows it."
        )
    return redirect("desk:order_import", pk=pk)


@roles.permission_required("orders.add_salesorder")
def import_progress(request, pk: int):
    """The progress bar, polled by htmx every second; once done, the page reloads to the report."""
    order_import = _import_of(request, pk)
    if order_import.status == OrderImport.Status.DONE and request.htmx:
        return HttpResponseClientRedirect(reverse("desk:order_import", args=[pk]))
    return render(request, "o2c/order_import_detail.html#progress", {"imp": order_import})


@roles.permission_required("orders.add_salesorder")
def import_report_csv(request, pk: int):
    """The report as a CSV to send back to whoever made the file: one row per order key, with
    its lines, what happened and why."""
    order_import = _import_of(request, pk)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["order_key", "lines", "outcome", "order_number", "problems"])
    by_key: dict[str, list[str]] = {}
    for line, column, reason, key in order_import.problems:
        by_key.setdefault(key, []).append(f"line {line}, {column}: {reason}")
    for key, problems in by_key.items():
        writer.writerow([key, "", "skipped: problems in the file", "", "; ".join(problems)])
    for result in order_import.results:
        if "key" not in result:
            continue
        reasons = "; ".join(f"{where}, {field}: {text}" for where, field, text in result.get("reasons", []))
        outcome = "refused at import" if result["outcome"] == "failed" else result["outcome"]
        lines = " ".join(str(n) for n in result["lines"])
        writer.writerow([result["key"], lines, outcome, result.get("number") or "", reasons])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="order-import-{order_import.pk}-report.csv"'
    return response
