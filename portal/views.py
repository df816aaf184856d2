from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from invoicing.models import Invoice, InvoiceDocument
from o2c.core.pagination import keyset_page
from o2c.core.roles import permission_required
from orders.models import SalesOrder
from receivables import selectors as receivables

from .scoping import customer_for, scoped

INVOICE_ORDER = ("-issue_date", "-id")
RECENT_ORDERS = 10


@permission_required("portal.use_portal")
def home(request):
    """The customer's account: what they owe, their invoices (with PDFs) and recent orders."""
    today = timezone.localdate()
    customer = customer_for(request)
    invoices = scoped(Invoice.objects.exclude(status=Invoice.Status.DRAFT), request)
    page = keyset_page(request, receivables.with_pdf_flag(invoices), order=INVOICE_ORDER)
    for invoice in page.rows:
        invoice.is_overdue = (
            invoice.status == Invoice.Status.ISSUED and invoice.due_date is not None and invoice.due_date < today
        )
    orders = scoped(SalesOrder.objects.exclude(status=SalesOrder.Status.DRAFT), request).order_by("-order_date", "-id")
    context = {
        "customer": customer,
        "balance": receivables.balance_of(invoices, on=today),
        "page": page,
        "orders": orders[:RECENT_ORDERS],
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "portal/home.html#invoices", context)
    return render(request, "portal/home.html", context)


@permission_required("portal.use_portal")
def invoice_pdf(request, pk: int):
    """The stored PDF of one of the customer's own invoices, as a download. Another customer's
    invoice, a draft, or a PDF not rendered yet is a 404."""
    document = get_object_or_404(
        scoped(InvoiceDocument.objects.select_related("invoice"), request, via="invoice__customer").exclude(
            invoice__status=Invoice.Status.DRAFT
        ),
        invoice_id=pk,
        kind=InvoiceDocument.Kind.PDF,
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("The PDF of this invoice is being prepared.") from error
    return FileResponse(
        handle, as_attachment=True, filename=f"{document.invoice.number}.pdf", content_type="application/pdf"
    )
