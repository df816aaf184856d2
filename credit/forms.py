from django import forms


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("release", "Release"), ("reject", "Reject")])
    reason = forms.CharField(
        max_length=500, help_text="Kept with the decision; a rejection reason is shown to the customer."
    )
