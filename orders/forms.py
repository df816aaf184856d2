from django import forms

from .customers import validate_tax_id
from .models import Address, Contact, Customer, SalesOrder
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
    channel = forms.ChoiceField(
        label="Taken by",
        choices=[(c.value, c.label) for c in SalesOrder.Channel if c in ("clerk", "phone", "email")],
        initial=SalesOrder.Channel.CLERK,
        required=False,
    )
    requested_date = forms.DateField(
        label="Requested delivery date",
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_channel(self) -> str:
        return self.cleaned_data.get("channel") or SalesOrder.Channel.CLERK


def lines_from(data) -> list[LineInput]:
    """The typed lines of the order form, in order (two parallel lists: sku and quantity)."""
    skus, quantities = data.getlist("sku"), data.getlist("quantity")
    prices, discounts, reasons = (
        data.getlist("unit_price"),
        data.getlist("discount_percent"),
        data.getlist("override_reason"),
    )

    def nth(values: list[str], index: int) -> str:
        return values[index] if index < len(values) else ""

    lines = [
        LineInput(sku, quantity, nth(prices, i), nth(discounts, i), nth(reasons, i))
        for i, (sku, quantity) in enumerate(zip(skus, quantities, strict=False))
    ]
    return lines or [LineInput("", "1") for _ in range(BLANK_LINES)]


def without_blank_lines(lines: list[LineInput]) -> list[LineInput]:
    return [line for line in lines if line.sku.strip()]


class CustomerForm(forms.ModelForm):
    """The customer master as clerks edit it; the tax id is checked for the customer's country."""

    class Meta:
        model = Customer
        fields = [
            "name", "account_number", "tax_id", "country", "address_line", "postal_code", "city",
            "email", "phone", "currency", "language", "payment_terms", "price_list", "tax_treatment",
            "segment", "parent", "is_active", "blocked_reason",
        ]  # fmt: skip
        help_texts = {
            "account_number": "Leave empty to number it automatically.",
            "tax_id": "VAT number; for EU countries with or without the country prefix.",
            "blocked_reason": "Required when the customer is not active; shown to whoever takes an order.",
        }
        widgets = {"country": forms.TextInput(attrs={"size": 2, "maxlength": 2, "style": "text-transform:uppercase"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account_number"].required = False
        self.fields["parent"].queryset = Customer.objects.only("name", "account_number").order_by("name")
        if self.instance.pk:
            self.fields["parent"].queryset = self.fields["parent"].queryset.exclude(pk=self.instance.pk)

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        tax_id, country = cleaned.get("tax_id", ""), cleaned.get("country", "")
        if tax_id and country:
            normalised, problem = validate_tax_id(tax_id, country)
            if problem:
                self.add_error("tax_id", f"Tax id: {problem}.")
            else:
                cleaned["tax_id"] = normalised
        if cleaned.get("is_active") is False and not cleaned.get("blocked_reason", "").strip():
            self.add_error("blocked_reason", "Blocked reason: say why the customer is blocked.")
        if cleaned.get("is_active") and cleaned.get("blocked_reason"):
            cleaned["blocked_reason"] = ""
        return cleaned


AddressFormSet = forms.inlineformset_factory(
    Customer,
    Address,
    fields=["kind", "label", "name", "address_line", "postal_code", "city", "country", "is_default"],
    extra=1,
    can_delete=True,
)
ContactFormSet = forms.inlineformset_factory(
    Customer, Contact, fields=["role", "name", "email", "phone"], extra=1, can_delete=True
)
