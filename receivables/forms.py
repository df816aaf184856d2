import uuid

from django import forms
from django.utils import timezone

from .models import Payment


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0.01)
    value_date = forms.DateField(label="Value date", widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reference = forms.CharField(label="Payer's reference", max_length=140, required=False)
    # One key per rendered form: a double click or a retried POST records one payment.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    @classmethod
    def for_invoice(cls, invoice):
        return cls(
            initial={
                "amount": invoice.amount_open,
                "value_date": timezone.localdate(),
                "method": Payment.Method.TRANSFER,
                "reference": invoice.number,
                "idempotency_key": uuid.uuid4().hex,
            }
        )
