"""The database itself keeps the AR ledger honest (RELIABILITY.md §2), on PostgreSQL:
posted entries and lines cannot be updated or deleted, and an entry whose debits and credits
differ cannot be committed (a deferred constraint trigger checks at COMMIT)."""

from django.db import migrations

POSTGRES_SQL = """
CREATE FUNCTION o2c_refuse_ledger_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'AR ledger entries are immutable: % on % refused; post a reversing entry instead',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER journalentry_immutable BEFORE UPDATE OR DELETE ON receivables_journalentry
    FOR EACH ROW EXECUTE FUNCTION o2c_refuse_ledger_change();
CREATE TRIGGER journalline_immutable BEFORE UPDATE OR DELETE ON receivables_journalline
    FOR EACH ROW EXECUTE FUNCTION o2c_refuse_ledger_change();

CREATE FUNCTION o2c_check_entry_balanced() RETURNS trigger AS $$
DECLARE difference numeric;
BEGIN
    SELECT COALESCE(SUM(debit - credit), 0) INTO difference
      FROM receivables_journalline WHERE entry_id = NEW.entry_id;
    IF difference <> 0 THEN
        RAISE EXCEPTION 'Journal entry % does not balance (debits - credits = %)', NEW.entry_id, difference
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER journalline_balanced AFTER INSERT ON receivables_journalline
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION o2c_check_entry_balanced();
"""

POSTGRES_REVERSE = """
DROP TRIGGER journalline_balanced ON receivables_journalline;
DROP FUNCTION o2c_check_entry_balanced();
DROP TRIGGER journalline_immutable ON receivables_journalline;
DROP TRIGGER journalentry_immutable ON receivables_journalentry;
DROP FUNCTION o2c_refuse_ledger_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("receivables", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
