"""On PostgreSQL the database refuses to change or delete an issued invoice or its lines.
Only what payments do may change after issue: amount_open and status (issued -> paid)."""

from django.db import migrations

POSTGRES_SQL = """
CREATE FUNCTION o2c_guard_issued_invoice() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Invoice % is issued and cannot be deleted; issue a credit note', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.number, NEW.customer_id, NEW.currency, NEW.issue_date, NEW.due_date, NEW.net_amount,
        NEW.tax_amount, NEW.total, NEW.bill_to, NEW.order_id, NEW.shipment_id)
       IS DISTINCT FROM
       (OLD.number, OLD.customer_id, OLD.currency, OLD.issue_date, OLD.due_date, OLD.net_amount,
        OLD.tax_amount, OLD.total, OLD.bill_to, OLD.order_id, OLD.shipment_id)
       OR NEW.status = 'draft' THEN
        RAISE EXCEPTION 'Invoice % is issued and cannot be changed; issue a credit note', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoice_immutable_once_issued BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION o2c_guard_issued_invoice();

CREATE FUNCTION o2c_guard_issued_invoice_line() RETURNS trigger AS $$
DECLARE parent_status text;
BEGIN
    SELECT status INTO parent_status FROM invoicing_invoice
     WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
    IF parent_status IS DISTINCT FROM 'draft' AND parent_status IS NOT NULL THEN
        RAISE EXCEPTION 'Lines of an issued invoice cannot be added, changed or deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER invoiceline_immutable_once_issued BEFORE INSERT OR UPDATE OR DELETE ON invoicing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION o2c_guard_issued_invoice_line();
"""

POSTGRES_REVERSE = """
DROP TRIGGER invoiceline_immutable_once_issued ON invoicing_invoiceline;
DROP FUNCTION o2c_guard_issued_invoice_line();
DROP TRIGGER invoice_immutable_once_issued ON invoicing_invoice;
DROP FUNCTION o2c_guard_issued_invoice();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
