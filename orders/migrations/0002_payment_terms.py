from django.db import migrations

TERMS = [("NET14", "14 days net", 14), ("NET30", "30 days net", 30), ("NET60", "60 days net", 60), ("DUE", "Due on receipt", 0)]


def create_terms(apps, schema_editor):
    PaymentTerms = apps.get_model("orders", "PaymentTerms")
    for code, name, days in TERMS:
        PaymentTerms.objects.get_or_create(code=code, defaults={"name": name, "net_days": days})


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(create_terms, migrations.RunPython.noop)]
