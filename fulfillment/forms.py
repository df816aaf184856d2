from decimal import Decimal

from django import forms
from django.utils import timezone

from .models import Carrier, DeliveryDiscrepancy, Shipment

PACKAGE_ROWS = 4


class ScanForm(forms.Form):
    """One scan at the shelf: the scanner types the code and presses Enter."""

    code = forms.CharField(
        label="SKU or bin barcode",
        max_length=40,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "inputmode": "text"}),
    )
    quantity = forms.DecimalField(
        min_value=Decimal("0.001"),
        max_digits=12,
        decimal_places=3,
        initial=1,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


class PackForm(forms.Form):
    """Up to PACKAGE_ROWS packages: a weight each (kg), and what it is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, PACKAGE_ROWS + 1):
            self.fields[f"weight_{n}"] = forms.DecimalField(
                label=f"Package {n} weight (kg)",
                required=n == 1,
                min_value=Decimal("0.001"),
                max_digits=10,
                decimal_places=3,
                widget=forms.NumberInput(attrs={"step": "any", "autofocus": n == 1}),
            )
            self.fields[f"description_{n}"] = forms.CharField(
                label=f"Package {n} is a", max_length=100, required=False, initial="Carton" if n == 1 else ""
            )

    def packages(self) -> list[tuple[Decimal, str]]:
        rows = []
        for n in range(1, PACKAGE_ROWS + 1):
            weight = self.cleaned_data.get(f"weight_{n}")
            if weight:
                rows.append((weight, self.cleaned_data.get(f"description_{n}") or "Carton"))
        return rows

    def rows(self):
        return [(self[f"weight_{n}"], self[f"description_{n}"]) for n in range(1, PACKAGE_ROWS + 1)]


class ShipForm(forms.Form):
    carrier = forms.ModelChoiceField(
        queryset=Carrier.objects.filter(is_active=True), required=False, empty_label="— pick or type below —"
    )
    new_carrier = forms.CharField(label="Or another carrier", max_length=60, required=False)
    service = forms.CharField(label="Service", max_length=40, required=False, help_text="e.g. Express, Economy, Pallet")
    tracking_number = forms.CharField(max_length=60, required=False)
    ship_date = forms.DateField(widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    freight_terms = forms.ChoiceField(choices=Shipment.FreightTerms.choices, initial=Shipment.FreightTerms.PREPAID)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("ship_date", timezone.localdate())
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if not data.get("carrier") and not (data.get("new_carrier") or "").strip():
            self.add_error("carrier", "Choose the carrier (or type a new one).")
        return data


class ProofOfDeliveryForm(forms.Form):
    """The header of a POD; the delivered quantity per line comes as delivered_<line id> and
    the reason for any shortfall as kind_<line id>."""

    signer_name = forms.CharField(label="Signed by", max_length=100, widget=forms.TextInput(attrs={"autofocus": True}))
    signed_at = forms.DateTimeField(
        label="Signed at", widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"})
    )
    file = forms.FileField(
        label="Signature or scanned POD",
        required=False,
        help_text="PNG, JPEG or PDF.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,application/pdf"}),
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("signed_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)


def line_deliveries(data, lines) -> tuple[list, list[tuple[str, str, str]]]:
    """(LineDelivery list, problems) from delivered_<id> / kind_<id> / why_<id> fields."""
    from .services import LineDelivery

    deliveries, problems = [], []
    for line in lines:
        raw = (data.get(f"delivered_{line.pk}") or "").strip()
        if raw == "":
            continue
        try:
            delivered = Decimal(raw)
        except Exception:  # noqa: BLE001
            problems.append((line.order_line.product.sku, "delivered", "Enter a number."))
            continue
        kind = data.get(f"kind_{line.pk}") or DeliveryDiscrepancy.Kind.SHORT
        deliveries.append(LineDelivery(line.pk, delivered, kind, (data.get(f"why_{line.pk}") or "")[:200]))
    return deliveries, problems


class ReceiveForm(forms.Form):
    """Goods in at the dock: scan the SKU, type the quantity, Enter."""

    sku = forms.CharField(
        label="SKU", max_length=40, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"})
    )
    quantity = forms.DecimalField(
        min_value=Decimal("0.001"), max_digits=12, decimal_places=3, widget=forms.NumberInput(attrs={"step": "any"})
    )
    reference = forms.CharField(label="Delivery note / PO", max_length=100, required=False)
