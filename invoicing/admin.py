from django.contrib import admin, messages
from django.db import transaction

from o2c.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin, without_save_buttons

from . import tasks
from .models import (
    BankAccount,
    BillingProfile,
    Company,
    DocumentBundle,
    Invoice,
    InvoiceDocument,
    InvoiceInstalment,
    InvoiceLine,
    InvoiceTaxLine,
    PaymentTermsInstalment,
    SendLog,
    TaxRate,
)


def _is_draft(invoice: Invoice | None) -> bool:
    return invoice is None or invoice.status == Invoice.Status.DRAFT


class InvoiceLineInline(admin.TabularInline):
    """Editable on a draft only: an issued invoice and its lines never change."""

    model = InvoiceLine
    extra = 0
    fields = [
        "line_number",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "tax_rate",
        "tax_category",
        "net_amount",
        "tax_amount",
        "order_line",
        "shipment_line",
    ]
    autocomplete_fields = ["order_line", "shipment_line"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "order_line__order",
                "order_line__product",
                "shipment_line__shipment",
                "shipment_line__order_line__product",
            )
        )

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)


class InvoiceDocumentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InvoiceDocument
    fields = ["kind", "file", "size", "sha256", "created_at"]


class InvoiceTaxLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InvoiceTaxLine
    fields = ["category", "rate", "taxable_amount", "tax_amount", "exemption_reason", "exemption_code"]
    show_change_link = False


class InvoiceInstalmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InvoiceInstalment
    fields = ["sequence", "due_date", "percent", "amount"]
    show_change_link = False


class SendLogInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = SendLog
    fields = ["created_at", "channel", "recipient", "documents", "result", "detail", "sent_at"]
    show_change_link = False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Invoices are created and issued by o2c.flow.ship. A draft may be corrected here; from
    issue on every field is read-only and the invoice cannot be deleted (credit notes correct)."""

    list_display = [
        "__str__",
        "customer",
        "order",
        "status",
        "issue_date",
        "due_date",
        "total",
        "amount_open",
        "currency",
    ]
    list_filter = ["kind", "status", "currency", "due_date"]
    list_select_related = ["customer", "order"]
    search_fields = ["number", "customer_po", "customer__name", "customer__account_number", "order__number"]
    date_hierarchy = "issue_date"
    autocomplete_fields = ["customer", "order", "shipment"]
    inlines = [InvoiceLineInline, InvoiceTaxLineInline, InvoiceInstalmentInline, InvoiceDocumentInline, SendLogInline]
    actions = ["queue_pdf_rendering"]
    readonly_fields = [
        "number",
        "status",
        "issue_date",
        "due_date",
        "net_amount",
        "tax_amount",
        "total",
        "amount_open",
        "issued_at",
        "issued_by",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "kind", "status", "customer", "order", "shipment", "customer_po"]}),
        ("Credit note", {"fields": ["credited_invoice", "reason"]}),
        ("Billing", {"fields": ["bill_to", "payment_terms", "currency"]}),
        ("Dates", {"fields": ["issue_date", "supply_date", "due_date"]}),
        ("Amounts", {"fields": ["rounding_rule", "net_amount", "tax_amount", "total", "amount_open"]}),
        ("Payment", {"fields": ["rf_reference", "discount_percent", "discount_date", "discount_amount"]}),
        ("Record", {"fields": ["issued_at", "issued_by", "created_at"]}),
    ]

    def has_add_permission(self, request):
        return False  # drafts come from shipments (invoicing.services.create_invoice_for_shipment)

    def get_readonly_fields(self, request, obj=None):
        if not _is_draft(obj):
            return [field.name for field in Invoice._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if not _is_draft(obj):
            context = without_save_buttons(context)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.action(description="Queue PDF rendering for the selected issued invoices")
    def queue_pdf_rendering(self, request, queryset):
        ids = list(
            queryset.exclude(status=Invoice.Status.DRAFT)
            .exclude(documents__kind=InvoiceDocument.Kind.PDF)
            .values_list("pk", flat=True)
        )
        for invoice_id in ids:  # the task does nothing for an invoice whose PDF is stored
            transaction.on_commit(lambda invoice_id=invoice_id: tasks.render_invoice_pdf.delay(invoice_id))
        self.message_user(request, f"{len(ids)} invoice(s) queued for PDF rendering.", messages.SUCCESS)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "invoice",
        "line_number",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "net_amount",
        "tax_amount",
    ]
    list_filter = ["tax_rate", "invoice__status"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "description"]


@admin.register(InvoiceDocument)
class InvoiceDocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stored once with their SHA-256 by invoicing.services.store_document; never replaced."""

    list_display = ["invoice", "kind", "size", "sha256", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "sha256"]
    date_hierarchy = "created_at"


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "iban", "bic", "currency", "is_default", "is_active"]
    list_filter = ["currency", "is_default", "is_active"]
    search_fields = ["name", "iban"]


@admin.register(InvoiceTaxLine)
class InvoiceTaxLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "category", "rate", "taxable_amount", "tax_amount", "exemption_code"]
    list_filter = ["category", "rate"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number"]


@admin.register(InvoiceInstalment)
class InvoiceInstalmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "sequence", "due_date", "percent", "amount"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    """Our legal data and the invoice branding. New invoices freeze these at issue."""

    list_display = ["legal_name", "vat_id", "registration_id", "rounding_rule", "is_active"]
    fieldsets = [
        ("Legal", {"fields": ["legal_name", "address_line", "postal_code", "city", "country", "vat_id"]}),
        ("Registration", {"fields": ["registration_id", "legal_info", "einvoice_scheme", "einvoice_id"]}),
        ("Contact", {"fields": ["email", "phone", "website"]}),
        ("Branding", {"fields": ["logo", "primary_colour", "accent_colour", "footer_text"]}),
        ("Rules", {"fields": ["rounding_rule", "is_active"]}),
    ]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "rate", "exemption_code", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "exemption_reason", "exemption_code"]


@admin.register(PaymentTermsInstalment)
class PaymentTermsInstalmentAdmin(admin.ModelAdmin):
    list_display = ["terms", "sequence", "percent", "days", "end_of_month"]
    list_select_related = ["terms"]
    list_filter = ["terms"]


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["customer", "rule", "send_email", "attach_xml", "export_einvoice", "email_bounced"]
    list_filter = ["rule", "send_email", "export_einvoice", "email_bounced", "einvoice_format"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__account_number", "email", "einvoice_id"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["bounced_at"]


@admin.register(SendLog)
class SendLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "channel", "recipient", "result", "created_at", "sent_at"]
    list_filter = ["channel", "result"]
    list_select_related = ["invoice"]
    search_fields = ["invoice__number", "recipient"]
    date_hierarchy = "created_at"


@admin.register(DocumentBundle)
class DocumentBundleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "status", "done", "requested_by", "created_at"]
    list_filter = ["status"]
