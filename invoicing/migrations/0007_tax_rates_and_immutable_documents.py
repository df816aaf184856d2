"""Hand-written: the VAT rates and exemption reasons we start with, the frozen legal data of
invoices issued before this release, and the database guard extended to the new columns and
to the tax breakdown and instalments of an issued document."""

from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import migrations

RATES = [
    ("Standard 21%", "S", "0.2100", "", ""),
    ("Reduced 12%", "S", "0.1200", "", ""),
    ("Reduced 6%", "S", "0.0600", "", ""),
    ("Zero rated", "Z", "0", "", ""),
    ("Exempt", "E", "0", "Exempt from VAT", "VATEX-EU-132"),
    (
        "Reverse charge",
        "AE",
        "0",
        "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)",
        "VATEX-EU-AE",
    ),
    ("Intra-EU supply", "K", "0", "Intra-Community supply of goods, exempt (Art. 138 Directive 2006/112/EC)", "VATEX-EU-IC"),
    ("Export", "G", "0", "Export outside the EU, exempt (Art. 146 Directive 2006/112/EC)", "VATEX-EU-G"),
    ("Outside scope", "O", "0", "Not subject to VAT", "VATEX-EU-O"),
]

POSTGRES_SQL = """
CREATE OR REPLACE FUNCTION o2c_guard_issued_invoice() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Invoice % is issued and cannot be deleted; issue a credit note', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.number, NEW.customer_id, NEW.currency, NEW.issue_date, NEW.due_date, NEW.net_amount,
        NEW.tax_amount, NEW.total, NEW.bill_to, NEW.order_id, NEW.shipment_id, NEW.kind,
        NEW.credited_invoice_id, NEW.reason, NEW.customer_po, NEW.payment_terms, NEW.supply_date,
        NEW.issued_at, NEW.seller, NEW.buyer, NEW.rounding_rule, NEW.rf_reference,
        NEW.discount_percent, NEW.discount_date, NEW.discount_amount, NEW.period_start, NEW.period_end)
       IS DISTINCT FROM
       (OLD.number, OLD.customer_id, OLD.currency, OLD.issue_date, OLD.due_date, OLD.net_amount,
        OLD.tax_amount, OLD.total, OLD.bill_to, OLD.order_id, OLD.shipment_id, OLD.kind,
        OLD.credited_invoice_id, OLD.reason, OLD.customer_po, OLD.payment_terms, OLD.supply_date,
        OLD.issued_at, OLD.seller, OLD.buyer, OLD.rounding_rule, OLD.rf_reference,
        OLD.discount_percent, OLD.discount_date, OLD.discount_amount, OLD.period_start, OLD.period_end)
       OR NEW.status = 'draft' THEN
        RAISE EXCEPTION 'Invoice % is issued and cannot be changed; issue a credit note', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoicetaxline_immutable_once_issued BEFORE INSERT OR UPDATE OR DELETE ON invoicing_invoicetaxline
    FOR EACH ROW EXECUTE FUNCTION o2c_guard_issued_invoice_line();
CREATE TRIGGER invoiceinstalment_immutable_once_issued BEFORE INSERT OR UPDATE OR DELETE ON invoicing_invoiceinstalment
    FOR EACH ROW EXECUTE FUNCTION o2c_guard_issued_invoice_line();
"""

POSTGRES_REVERSE = """
DROP TRIGGER invoiceinstalment_immutable_once_issued ON invoicing_invoiceinstalment;
DROP TRIGGER invoicetaxline_immutable_once_issued ON invoicing_invoicetaxline;
"""


def forwards(apps, schema_editor):
    TaxRate = apps.get_model("invoicing", "TaxRate")
    for name, category, rate, reason, code in RATES:
        TaxRate.objects.get_or_create(
            category=category,
            rate=Decimal(rate),
            defaults={"name": name, "exemption_reason": reason, "exemption_code": code},
        )
    _backfill_issued(apps)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)


def _backfill_issued(apps):
    """Invoices issued before this migration get their breakdown and frozen parties now (the
    old guard did not cover these columns; the new one, created just after, does)."""
    from invoicing.references import rf_reference

    Invoice = apps.get_model("invoicing", "Invoice")
    InvoiceTaxLine = apps.get_model("invoicing", "InvoiceTaxLine")
    company = settings.O2C_COMPANY
    seller = {
        "name": company.get("name", ""),
        "address_line": company.get("address", "").split(",")[0],
        "postal_code": "1000",
        "city": "Brussels",
        "country": company.get("vat_id", "BE")[:2],
        "vat_id": company.get("vat_id", ""),
        "registration_id": company.get("vat_id", "")[2:],
        "email": company.get("email", ""),
        "endpoint_scheme": "0208",
        "endpoint_id": company.get("vat_id", "")[2:],
        "iban": company.get("iban", ""),
        "bic": company.get("bic", ""),
    }
    for invoice in Invoice.objects.exclude(status="draft").filter(seller={}).select_related("customer").iterator():
        groups = defaultdict(lambda: [Decimal("0"), Decimal("0")])
        for line in invoice.lines.all():
            groups[line.tax_rate][0] += line.net_amount
            groups[line.tax_rate][1] += line.tax_amount
        InvoiceTaxLine.objects.bulk_create(
            InvoiceTaxLine(invoice=invoice, category="S", rate=rate, taxable_amount=net, tax_amount=tax)
            for rate, (net, tax) in groups.items()
        )
        customer = invoice.customer
        Invoice.objects.filter(pk=invoice.pk).update(
            seller=seller,
            buyer={
                "name": customer.name,
                "account_number": customer.account_number,
                "address_line": customer.address_line,
                "postal_code": customer.postal_code,
                "city": customer.city,
                "country": customer.country,
                "vat_id": customer.tax_id,
                "email": customer.email,
            },
            rf_reference=rf_reference(invoice.number),
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0006_billing_taxes_documents_sending")]
    operations = [migrations.RunPython(forwards, backwards)]
