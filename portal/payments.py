"""Payment providers behind one adapter.

A provider turns a PaymentIntent (one or several invoices, one amount) into money:
- start(intent, confirm_url=...) says what the payer does next: go to a URL (a hosted card
  page; for a real provider such as Stripe, its checkout session URL) or follow instructions
  (a bank transfer: our IBAN and a structured reference per invoice);
- confirm(intent, data, by=...) is called when the provider says the money is there (the
  return from its page or its webhook) and records the payments through o2c.flow, once.

Built in: "bank_transfer" (cash application matches the transfer later) and "test_card" (a
card form that never leaves this server: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is
declined). A real provider adds a class here and its key to O2C_PORTAL_PAYMENT_PROVIDERS;
tests never call a network.
"""

from dataclasses import dataclass, field

from django.conf import settings

from invoicing.models import BankAccount
from invoicing.references import format_rf, rf_reference

from . import services
from .models import PaymentIntent


class PaymentRefused(services.PortalError):
    pass


@dataclass
class Instruction:
    invoice_number: str
    amount: str
    reference: str


@dataclass
class NextStep:
    """What the payer does after start(): go to `redirect_url`, or follow the instructions."""

    redirect_url: str = ""
    account_holder: str = ""
    iban: str = ""
    bic: str = ""
    instructions: list[Instruction] = field(default_factory=list)


class Provider:
    key = ""
    label = ""
    description = ""
    confirms_online = False  # True: the invoices show paid as soon as the provider confirms

    def start(self, intent: PaymentIntent, *, confirm_url: str) -> NextStep:
        raise NotImplementedError

    def confirm(self, intent: PaymentIntent, data: dict, *, by) -> PaymentIntent:
        raise PaymentRefused(f"{self.label} payments are confirmed by cash application, not online.")


class BankTransfer(Provider):
    key = "bank_transfer"
    label = "Bank transfer"
    description = "Transfer the amount from your bank with the reference of each invoice."

    def start(self, intent, *, confirm_url):
        account = BankAccount.objects.filter(currency=intent.currency, is_default=True, is_active=True).first()
        company = settings.O2C_COMPANY
        services.mark_awaiting_transfer(intent=intent)
        return NextStep(
            account_holder=company["name"],
            iban=account.iban if account else company["iban"],
            bic=account.bic if account else company["bic"],
            instructions=[
                Instruction(
                    item.invoice.number,
                    f"{item.amount} {intent.currency}",
                    format_rf(rf_reference(item.invoice.number)),
                )
                for item in intent.items.select_related("invoice").order_by("invoice__due_date", "invoice_id")
            ],
        )


TEST_CARD_OK = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"


class TestCard(Provider):
    """A card provider for demos and tests: the card form is our own page."""

    key = "test_card"
    label = "Card (test provider)"
    description = "Pay now by card; the invoices show paid at once. Test card 4242 4242 4242 4242."
    confirms_online = True

    def start(self, intent, *, confirm_url):
        return NextStep(redirect_url=confirm_url)

    def confirm(self, intent, data, *, by):
        from o2c import flow  # the flow sits beside the portal on the top layer

        number = "".join(ch for ch in str(data.get("card_number", "")) if ch.isdigit())
        if number == TEST_CARD_DECLINED:
            services.fail_intent(intent=intent, reason="The card was declined by the issuer.", by=by)
            raise PaymentRefused("The card was declined. Nothing was paid; try another card or a bank transfer.")
        if number != TEST_CARD_OK:
            raise PaymentRefused(
                "Enter the test card number 4242 4242 4242 4242.",
                [("payment", "card_number", "not a test card number")],
            )
        return flow.confirm_online_payment(intent=intent, provider_reference=f"test-{intent.reference[:12]}", by=by)


PROVIDERS: dict[str, Provider] = {provider.key: provider for provider in (BankTransfer(), TestCard())}


def enabled() -> list[Provider]:
    return [PROVIDERS[key] for key in settings.O2C_PORTAL_PAYMENT_PROVIDERS if key in PROVIDERS]


def get(key: str) -> Provider:
    provider = PROVIDERS.get(key)
    if provider is None or provider not in enabled():
        raise PaymentRefused("Choose a way to pay.", [("payment", "provider", f"unknown payment method '{key}'")])
    return provider
