from django import forms

from .services import LineInput

BLANK_LINES = 3


class OrderHeaderForm(forms.Form):
    customer_account = forms.CharField(
        label="Customer",
        max_length=20,
        help_text="Type a name or account number and pick from the list.",
        widget=forms.TextInput(attrs={"list": "customer-options", "autocomplete": "off", "autofocus": True}),
    )
    customer_po = forms.CharField(label="Customer PO", max_length=50, required=False)
    requested_date = forms.DateField(
        label="Requested delivery date",
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


def lines_from(data) -> list[LineInput]:
    """The typed lines of the order form, in order (two parallel lists: sku and quantity)."""
    skus, quantities = data.getlist("sku"), data.getlist("quantity")
    lines = [LineInput(sku, quantity) for sku, quantity in zip(skus, quantities, strict=False)]
    return lines or [LineInput("", "1") for _ in range(BLANK_LINES)]


def without_blank_lines(lines: list[LineInput]) -> list[LineInput]:
    return [line for line in lines if line.sku.strip()]
