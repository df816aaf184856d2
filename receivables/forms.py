import uuid

from django import forms
from django.utils import timezone

from invoicing.models import Invoice

from .collections import TEMPLATE_CHOICES
from .models import CollectionActivity, Payment


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


# --- collections ------------------------------------------------------------------------------------
DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class _OwnIds:
    """Several of these forms share one page: each gets its own id prefix (call_summary, ...)."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class CallForm(_OwnIds, forms.Form):
    id_prefix = "call"
    outcome = forms.ChoiceField(choices=[c for c in CollectionActivity.Outcome.choices if c[0]])
    summary = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_on = forms.DateField(label="Follow up on", required=False, widget=DATE)


class PromiseForm(_OwnIds, forms.Form):
    id_prefix = "promise"
    promised_date = forms.DateField(label="Pays by", widget=DATE)
    amount = forms.DecimalField(max_digits=14, decimal_places=2)
    invoices = forms.ModelMultipleChoiceField(
        queryset=Invoice.objects.none(), required=False, help_text="None chosen: a promise on the account."
    )
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, customer=None, open_items=None, **kwargs):
        super().__init__(*args, **kwargs)
        if open_items is not None:  # the page's open items (already read): no extra query to render
            self.fields["invoices"].queryset = Invoice.objects.filter(customer=customer, amount_open__gt=0)
            self.fields["invoices"].choices = [(i.pk, f"{i.number} ({i.amount_open} open)") for i in open_items]
        elif customer is not None:
            self.fields["invoices"].queryset = Invoice.objects.filter(customer=customer, amount_open__gt=0)


class TemplateEmailForm(_OwnIds, forms.Form):
    id_prefix = "email"
    template = forms.ChoiceField(choices=TEMPLATE_CHOICES)


class NoteForm(_OwnIds, forms.Form):
    id_prefix = "note"
    text = forms.CharField(label="Note", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    follow_up_on = forms.DateField(label="Follow up on", required=False, widget=DATE)


class FollowUpForm(_OwnIds, forms.Form):
    id_prefix = "followup"
    follow_up_on = forms.DateField(label="Follow up on", required=False, widget=DATE)


class CompleteTaskForm(_OwnIds, forms.Form):
    id_prefix = "task"
    outcome = forms.ChoiceField(choices=CollectionActivity.Outcome.choices, required=False)
    note = forms.CharField(max_length=200, required=False)


class StatementPeriodForm(_OwnIds, forms.Form):
    id_prefix = "statement"
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The end is before the start.")
        return data


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
