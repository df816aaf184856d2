"""The default collections set-up, editable in admin afterwards: reminders 7 days before due and
on the due date, and a four-level dunning procedure for every segment without its own."""

from decimal import Decimal

from django.db import migrations

LEVELS = [
    # level, name, days overdue, fee, interest, channel, final, agency, text
    (
        1,
        "Friendly reminder",
        7,
        "0.00",
        False,
        "email",
        False,
        False,
        "Our records show that the invoices below are past due. Perhaps this has escaped your notice: "
        "please pay the amount due at your earliest convenience. If you have paid in the meantime, "
        "please disregard this letter.",
    ),
    (
        2,
        "Second reminder",
        21,
        "10.00",
        True,
        "email",
        False,
        False,
        "Despite our earlier reminder, the invoices below remain unpaid. We charge a dunning fee and "
        "statutory late-payment interest as listed. Please pay the total within 7 days.",
    ),
    (
        3,
        "Final notice",
        45,
        "25.00",
        True,
        "letter",
        True,
        False,
        "FINAL NOTICE. The invoices below are still unpaid despite our reminders. Unless we receive the "
        "total within 8 days, we will hand the claim over to a collection agency without further notice, "
        "at your expense.",
    ),
    (
        4,
        "Hand-over to collection agency",
        75,
        "0.00",
        False,
        "call",
        True,
        True,
        "The invoices below have been handed over to our collection agency. Please contact us at once.",
    ),
]


def create(apps, schema_editor):
    ReminderPolicy = apps.get_model("receivables", "ReminderPolicy")
    DunningProcedure = apps.get_model("receivables", "DunningProcedure")
    DunningLevel = apps.get_model("receivables", "DunningLevel")
    CollectionsSettings = apps.get_model("receivables", "CollectionsSettings")
    if not CollectionsSettings.objects.exists():
        CollectionsSettings.objects.create()
    for days in (7, 0):
        ReminderPolicy.objects.get_or_create(segment="", days_before_due=days)
    procedure, created = DunningProcedure.objects.get_or_create(
        code="STANDARD", defaults={"name": "Standard dunning", "segment": ""}
    )
    if not created:
        return
    for level, name, days, fee, interest, channel, final, agency, text in LEVELS:
        DunningLevel.objects.create(
            procedure=procedure,
            level=level,
            name=name,
            days_overdue=days,
            fee=Decimal(fee),
            charge_interest=interest,
            interest_margin=Decimal("8.000"),
            channel=channel,
            letter_text=text,
            is_final_notice=final,
            hand_over_to_agency=agency,
        )


class Migration(migrations.Migration):
    dependencies = [("receivables", "0007_dunning_letter_per_currency")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
