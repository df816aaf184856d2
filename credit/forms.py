from decimal import Decimal

from django import forms

from .models import CreditPolicy, CreditProfile


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("release", "Release"),
            ("release_temporary", "Release with a temporary limit increase"),
            ("reject", "Reject"),
        ]
    )
    reason = forms.CharField(
        max_length=500, help_text="Kept with the decision; a rejection reason is shown to the customer."
    )
    temporary_increase = forms.DecimalField(
        label="Temporary increase",
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="Added to the limit until the date below.",
    )
    temporary_until = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Last day it applies."
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "release_temporary":
            if not data.get("temporary_increase"):
                self.add_error("temporary_increase", "Give the amount of the temporary increase.")
            if not data.get("temporary_until"):
                self.add_error("temporary_until", "Give the last day the increase applies.")
        return data

    def flow_arguments(self) -> dict:
        data = self.cleaned_data
        temporary = data["decision"] == "release_temporary"
        return {
            "release": data["decision"] != "reject",
            "reason": data["reason"],
            "temporary_increase": data.get("temporary_increase") if temporary else None,
            "temporary_until": data.get("temporary_until") if temporary else None,
        }


class HoldQueueForm(forms.Form):
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("oldest", "Oldest first"),
            ("largest", "Largest first"),
            ("newest", "Newest first"),
            ("smallest", "Smallest first"),
        ],
    )


class PolicyForm(forms.ModelForm):
    class Meta:
        model = CreditPolicy
        fields = [
            "currency",
            "max_days_overdue",
            "max_overdue_amount",
            "require_current_approval",
            "check_group",
            "four_eyes_threshold",
            "review_interval_days",
            "note",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].required = True


class LimitChangeForm(forms.Form):
    new_limit = forms.DecimalField(label="New limit", max_digits=14, decimal_places=2, min_value=Decimal("0"))
    reason = forms.CharField(max_length=500, help_text="Kept in the limit history.")


class LimitDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    note = forms.CharField(max_length=300, required=False)


class ApplicationForm(forms.Form):
    customer_account = forms.CharField(label="Customer account number", max_length=20)
    requested_limit = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = forms.CharField(max_length=3, required=False, help_text="Empty = the customer's currency.")
    trade_references = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line.")
    bank_name = forms.CharField(max_length=100)
    bank_account = forms.CharField(label="Bank account (IBAN)", max_length=34, required=False)
    annual_revenue = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    net_income = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    years_in_business = forms.IntegerField(min_value=0, max_value=500, required=False)
    document = forms.FileField(required=False, help_text="Financial statements: PDF, PNG or JPEG, at most 5 MB.")


class ApplicationDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    approved_limit = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False)
    approved_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=500)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "approve" and data.get("approved_limit") is None:
            self.add_error("approved_limit", "Give the limit granted.")
        return data


class ReviewResolveForm(forms.Form):
    resolution = forms.CharField(max_length=300)


RISK_CHOICES = CreditProfile.RiskClass.choices
