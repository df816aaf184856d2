"""The filters every report page takes, as GET parameters (shareable URLs)."""

import datetime

from django import forms

from .kpis import BASES, Scope

PERIODS = [
    ("90d", "Last 90 days"),
    ("month", "This month"),
    ("last_month", "Last month"),
    ("quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("ytd", "Year to date"),
    ("custom", "Custom dates"),
]
MAX_DAYS = 3 * 366


def period_bounds(period: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    month_start = today.replace(day=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    if period == "month":
        return month_start, today
    if period == "last_month":
        end = month_start - datetime.timedelta(days=1)
        return end.replace(day=1), end
    if period == "quarter":
        return quarter_start, today
    if period == "last_quarter":
        end = quarter_start - datetime.timedelta(days=1)
        return end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1), end
    if period == "ytd":
        return today.replace(month=1, day=1), today
    return today - datetime.timedelta(days=89), today


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, initial="90d")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    segment = forms.CharField(required=False, max_length=30, label="Customer segment")
    currency = forms.CharField(required=False, max_length=3)
    basis = forms.ChoiceField(
        choices=[("due", "Days past due date"), ("invoice", "Days since invoice date")], required=False
    )

    def __init__(self, data, *, today: datetime.date, segments=(), currencies=()):
        super().__init__(data)
        self.today = today
        self.fields["segment"].widget = forms.Select(choices=[("", "All segments"), *[(s, s) for s in segments]])
        self.fields["currency"].widget = forms.Select(choices=[("", "All currencies"), *[(c, c) for c in currencies]])

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean(self):
        data = super().clean()
        period = data.get("period") or "90d"
        data["period"] = period
        if period == "custom":
            start, end = data.get("start"), data.get("end")
            if not start:
                self.add_error("start", "Give the first day of the period.")
            if not end:
                self.add_error("end", "Give the last day of the period.")
            if start and end:
                if start > end:
                    self.add_error("end", "The last day must be on or after the first.")
                elif (end - start).days > MAX_DAYS:
                    self.add_error("start", f"A period can be at most {MAX_DAYS} days.")
                elif end > self.today:
                    self.add_error("end", "The period cannot end in the future.")
        else:
            data["start"], data["end"] = period_bounds(period, self.today)
        data["basis"] = data.get("basis") if data.get("basis") in BASES else "due"
        return data

    def resolved(self) -> dict:
        """start, end, scope, basis: the form's values when valid, else the default period."""
        if self.is_valid():
            data = self.cleaned_data
        else:
            start, end = period_bounds("90d", self.today)
            data = {"start": start, "end": end, "segment": "", "currency": "", "basis": "due"}
        return {
            "start": data["start"],
            "end": data["end"],
            "scope": Scope(segment=data.get("segment", ""), currency=data.get("currency", "")),
            "basis": data["basis"],
        }
