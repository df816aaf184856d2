from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from o2c.core.roles import permission_required

from .models import Invoice, InvoiceDocument


@permission_required("invoicing.view_invoice")
def invoice_list(request):
    status = request.GET.get("status", "")
    invoices = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT).select_related("customer").order_by("-issue_date", "-id")
    )
    if status in Invoice.Status.values:
        invoices = invoices.filter(status=status)
    return render(
        request,
        "invoicing/invoice_list.html",
        {"invoices": invoices[:100], "status": status, "statuses": Invoice.Status.choices},
    )


@permission_required("invoicing.view_invoice")
def invoice_pdf(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    document = InvoiceDocument.objects.filter(invoice=invoice, kind=InvoiceDocument.Kind.PDF).first()
    if document is None:
        raise Http404("The PDF of this invoice is still being rendered.")
    return pdf_response(document)


def pdf_response(document: InvoiceDocument) -> FileResponse:
    """The stored file, with a fixed name and as a download (never served from MEDIA_URL)."""
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.invoice.number}.pdf",
        content_type="application/pdf",
    )
