from decimal import Decimal

from django import forms


class CreditNoteForm(forms.Form):
    """A credit note on an issued invoice: the whole invoice, or a gross amount, and why."""

    full = forms.BooleanField(label="Credit the whole invoice", required=False)
    amount = forms.DecimalField(
        label="Amount to credit (incl. VAT)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text="Split over the invoice's VAT rates; VAT is rounded on the net, so a cent may differ.",
    )
    reason = forms.CharField(label="Reason", max_length=200, help_text="Printed on the credit note.")

    def clean(self):
        data = super().clean()
        if not data.get("full") and not data.get("amount"):
            self.add_error("amount", "Give an amount, or tick 'credit the whole invoice'.")
        return data
