"""Input of the dispute pages (staff and portal): checked here, written by receivables.disputes
or o2c.flow. Files are checked again by the service (by content, not name)."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.auth import get_user_model

from .disputes import DisputedLine
from .models import Dispute

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def dispute_owners():
    """Who may own a dispute: active staff whose role may change disputes."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__permissions__codename="change_dispute")
        .distinct()
        .order_by("first_name", "username")
    )


class OpenDisputeForm(forms.Form):
    """Whole invoice (leave every line unticked; amount: default what is open) or chosen lines
    (line-<id> ticked, with quantity-<id> or amount-<id> optional)."""

    reason = forms.ChoiceField(label="Reason", choices=Dispute.Reason.choices)
    amount = forms.DecimalField(
        label="Disputed amount",
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="Leave empty to dispute everything still open, or tick lines below.",
    )
    description = forms.CharField(label="What is wrong", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    attachment = forms.FileField(label="Attachment", required=False, help_text="PDF, PNG or JPEG, at most 5 MB.")

    def __init__(self, *args, invoice_lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice_lines = list(invoice_lines)
        self.chosen_lines: list[DisputedLine] = []
        self.line_errors: dict[int, str] = {}

    def line_rows(self) -> list[dict]:
        """What the template shows per invoice line: ticked, quantity, amount, error."""
        data = self.data if self.is_bound else {}
        return [
            {
                "line": line,
                "ticked": bool(data.get(f"line-{line.pk}")),
                "quantity": data.get(f"quantity-{line.pk}", ""),
                "amount": data.get(f"amount-{line.pk}", ""),
                "error": self.line_errors.get(line.pk, ""),
            }
            for line in self.invoice_lines
        ]

    def clean(self):
        data = super().clean()
        chosen = []
        for line in self.invoice_lines:
            if not self.data.get(f"line-{line.pk}"):
                continue
            values = {}
            for name in ("quantity", "amount"):
                text = (self.data.get(f"{name}-{line.pk}") or "").strip().replace(",", ".")
                try:
                    values[name] = Decimal(text) if text else None
                except InvalidOperation:
                    self.line_errors[line.pk] = f"Line {line.line_number}: the {name} is not a number."
            chosen.append(DisputedLine(line.pk, quantity=values.get("quantity"), amount=values.get("amount")))
        if self.line_errors:
            raise forms.ValidationError(" ".join(self.line_errors.values()))
        self.chosen_lines = chosen
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "reason": data["reason"],
            "description": data.get("description", ""),
            "uploads": [data["attachment"]] if data.get("attachment") else [],
        }
        if self.chosen_lines:
            arguments["lines"] = self.chosen_lines
        elif data.get("amount") is not None:
            arguments["amount"] = data["amount"]
        return arguments

    def add_problems(self, problems) -> None:
        """A DisputeError's problems onto the fields they name (the rest on the form)."""
        fields = {"reason": "reason", "amount": "amount", "description": "description", "file": "attachment"}
        fields |= {"owner": "owner", "due date": "due_date"}
        for where, field, text in problems:
            target = fields.get(field)
            if target in self.fields:
                self.add_error(target, text)
            else:
                self.add_error(None, f"{where.capitalize()}, {field}: {text}")


class StaffOpenDisputeForm(OpenDisputeForm):
    owner = forms.ModelChoiceField(
        label="Owner", queryset=None, required=False, empty_label="The customer's collector (or nobody)"
    )
    due_date = forms.DateField(label="Resolve by", required=False, widget=DATE, help_text="Default: in 14 days.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = dispute_owners()

    def service_arguments(self) -> dict:
        arguments = super().service_arguments()
        if self.cleaned_data.get("owner") is not None:
            arguments["owner"] = self.cleaned_data["owner"]
        if self.cleaned_data.get("due_date"):
            arguments["due_date"] = self.cleaned_data["due_date"]
        return arguments


class MessageForm(forms.Form):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    attachment = forms.FileField(label="Attachment", required=False, help_text="PDF, PNG or JPEG, at most 5 MB.")


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label="Owner", queryset=None, required=False, empty_label="Nobody")
    due_date = forms.DateField(label="Resolve by", required=False, widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = dispute_owners()


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=Dispute.Resolution.choices, widget=forms.RadioSelect)
    accepted_amount = forms.DecimalField(
        label="Accepted amount",
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="For a partial acceptance: the part credited; the rest is dunned again.",
    )
    note = forms.CharField(
        label="Note to the customer", max_length=300, required=False, help_text="Required to reject or partly accept."
    )

    def add_problems(self, problems) -> None:
        fields = {"accepted amount": "accepted_amount", "note": "note", "outcome": "outcome"}
        for where, field, text in problems:
            target = fields.get(field)
            if target:
                self.add_error(target, text)
            else:
                self.add_error(None, f"{where.capitalize()}, {field}: {text}")
