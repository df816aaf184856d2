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


class WriteOffRequestForm(forms.Form):
    amount = forms.DecimalField(label="Amount to write off", max_digits=14, decimal_places=2)
    reason = forms.CharField(
        max_length=200, help_text="Why it cannot be collected, e.g. 'Customer bankrupt, claim filed 3 Mar'."
    )


class RefundRequestForm(forms.Form):
    amount = forms.DecimalField(label="Amount to refund", max_digits=14, decimal_places=2)
    iban = forms.CharField(label="Pay to IBAN", max_length=42)
    reason = forms.CharField(max_length=200)


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve and post"), ("reject", "Reject")])
    note = forms.CharField(max_length=300, required=False)
