"""Input of portal pages: checked here, written by portal.services or o2c.flow."""

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from .models import ChangeRequest, InvoiceDeliveryPreference

# What an upload may be: the first bytes of each allowed type (never the browser's word for it).
UPLOAD_SIGNATURES = {"PDF": b"%PDF-", "PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}


def check_upload(upload) -> None:
    limit = settings.O2C_PORTAL_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            f"The file is {upload.size / 1048576:.1f} MB; at most {limit // 1048576} MB is accepted."
        )
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in UPLOAD_SIGNATURES.values()):
        raise forms.ValidationError(
            f"Only {', '.join(UPLOAD_SIGNATURES)} files are accepted; this file is none of them."
        )


class RightsForm(forms.Form):
    can_order = forms.BooleanField(label="Place orders", required=False)
    can_pay = forms.BooleanField(label="Pay invoices", required=False)
    can_dispute = forms.BooleanField(label="Raise disputes", required=False)
    can_manage_users = forms.BooleanField(label="Manage users", required=False)


class InviteForm(RightsForm):
    email = forms.EmailField(label="Email")
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    field_order = ["email", "first_name", "last_name", "can_order", "can_pay", "can_dispute", "can_manage_users"]


class MemberForm(RightsForm):
    active = forms.BooleanField(label="Login active", required=False)


class StaffInviteForm(InviteForm):
    customer_account = forms.CharField(label="Customer account number", max_length=20)
    field_order = ["customer_account", *InviteForm.field_order]


class StatementForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    @classmethod
    def initial_period(cls) -> dict:
        today = timezone.localdate()
        return {"start": today.replace(month=1, day=1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end is before the start.")
            elif (end - start) > datetime.timedelta(days=3 * 366):
                self.add_error("start", "Choose a period of at most three years.")
        return data


class ChangeRequestForm(forms.ModelForm):
    class Meta:
        model = ChangeRequest
        fields = ["kind", "details", "attachment"]
        widgets = {"details": forms.Textarea(attrs={"rows": 4})}
        labels = {"kind": "What to change"}
        help_texts = {"details": "What should change, and from when."}

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            check_upload(upload)
        return upload


class DeliveryPreferenceForm(forms.ModelForm):
    class Meta:
        model = InvoiceDeliveryPreference
        fields = ["channel", "email", "peppol_id"]
        widgets = {"channel": forms.RadioSelect}


class HandleChangeForm(forms.Form):
    status = forms.ChoiceField(choices=[("done", "Done"), ("rejected", "Rejected")])
    note = forms.CharField(max_length=200, required=False)
