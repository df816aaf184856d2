"""Carrier adapters: one per carrier integration, looked up by Carrier.adapter.

The built-in 'manual' adapter books nothing: the warehouse types the tracking number from the
carrier's own label, and the tracking link comes from the carrier's URL pattern. An adapter for
a carrier API implements the same two methods and registers itself; tests never reach a network.
"""

from dataclasses import dataclass
from urllib.parse import quote

from o2c.core.errors import DomainError


class CarrierError(DomainError):
    pass


@dataclass(frozen=True)
class Booking:
    tracking_number: str
    service: str


class ManualAdapter:
    name = "manual"
    label = "Manual (tracking number typed in)"

    def book(self, *, carrier, shipment, service: str, tracking_number: str) -> Booking:
        tracking_number = tracking_number.strip()
        if len(tracking_number) > 60:
            raise CarrierError(
                "The tracking number is longer than 60 characters.",
                [("shipment", "tracking_number", "At most 60 characters.")],
            )
        return Booking(tracking_number=tracking_number, service=service.strip()[:40])

    def tracking_link(self, *, carrier, tracking_number: str) -> str:
        if not tracking_number or not carrier.tracking_url or "{tracking}" not in carrier.tracking_url:
            return ""
        return carrier.tracking_url.replace("{tracking}", quote(tracking_number, safe=""))


_ADAPTERS: dict[str, object] = {}


def register(adapter) -> None:
    _ADAPTERS[adapter.name] = adapter


def adapter_for(carrier):
    try:
        return _ADAPTERS[carrier.adapter]
    except KeyError:
        raise CarrierError(f"Carrier {carrier} uses adapter '{carrier.adapter}', which is not installed.") from None


def adapter_names() -> list[tuple[str, str]]:
    return [(name, getattr(adapter, "label", name)) for name, adapter in sorted(_ADAPTERS.items())]


def tracking_link(shipment) -> str:
    if shipment.carrier_id is None:
        return ""
    try:
        return adapter_for(shipment.carrier).tracking_link(
            carrier=shipment.carrier, tracking_number=shipment.tracking_number
        )
    except CarrierError:
        return ""


register(ManualAdapter())
