"""Load the demo company: users of every role, customers, products, stock and six months of
orders in every state, all moved through o2c.flow, so every number, ledger entry and
timeline event is one the application itself made.

Idempotent: when the demo customer D0001 exists it changes nothing and only prints the logins.
Deterministic: one random.Random(42) decides everything, in one transaction (all or nothing).
Invoice PDFs are not rendered here: o2c.flow.ship queues one render task per invoice after the
commit, and the Celery worker of `make run` renders them.
"""

import base64
import datetime
import random
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import kombu.exceptions
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from credit import services as credit_services
from credit.models import CreditProfile, ExchangeRate
from fulfillment import services as fulfillment
from fulfillment.models import Carrier, ExpectedReceipt, Location, ReturnLine, Shipment, StockItem, Warehouse
from fulfillment.services import receive_stock
from invoicing import services as invoicing_services
from invoicing.models import BankAccount, BillingProfile, Company, DocumentBundle, Invoice, PaymentTermsInstalment
from o2c import flow
from o2c.core import roles
from o2c.core.money import line_amounts
from orders import imports as order_imports
from orders.models import (
    Address,
    Contact,
    Customer,
    DiscountLimit,
    PaymentTerms,
    PriceList,
    PriceListItem,
    Product,
    ProductPrice,
    SalesOrder,
)
from orders.services import LineInput
from portal import services as portal_services
from portal.models import PortalAccess
from receivables.models import Collector, Payment
from reporting import services as reporting

MARKER_ACCOUNT = "D0001"  # the first demo customer: its presence means "already seeded"
PASSWORD = "demo"
DEMO_ADMIN_TOTP_KEY = "3132333435363738393031323334353637383930"  # RFC 6238 test key: demo only
DAYS_OF_HISTORY = 182
ORDER_COUNT = 294  # + 3 scripted orders of the customer that later went bankrupt, + 3 of the portal customer

# username, first name, last name, role (group) or "superuser"
USERS = [
    ("clerk", "Emma", "Peeters", roles.ORDER_CLERK),
    ("credit", "Lucas", "Janssens", roles.CREDIT_MANAGER),
    ("warehouse", "Noah", "Maes", roles.WAREHOUSE),
    ("billing", "Olivia", "Jacobs", roles.BILLING_CLERK),
    ("ar", "Louise", "Willems", roles.AR_CLERK),
    ("finance", "Arthur", "Claes", roles.FINANCE_MANAGER),
    ("customer", "Sophie", "Vandenbroucke", roles.CUSTOMER),
    ("admin", "Ada", "Administrator", "superuser"),
]

# name, street, postal code, city, country, what it mostly buys
CUSTOMERS = [
    ("Vandenbroucke Kantoorinrichting NV", "Stationsstraat 112", "9000", "Gent", "BE", "office"),
    ("Peeters & Zonen BV", "Mechelsesteenweg 45", "2018", "Antwerpen", "BE", "tools"),
    ("Atelier Dubois SRL", "Rue de la Loi 27", "1040", "Etterbeek", "BE", "office"),
    ("Logistiek Maes BV", "Industrieweg 8", "3500", "Hasselt", "BE", "packaging"),
    ("Imprimerie Lambert SA", "Boulevard d'Avroy 63", "4000", "Liège", "BE", "packaging"),
    ("Claes Bouwmaterialen NV", "Kortrijksesteenweg 210", "8500", "Kortrijk", "BE", "tools"),
    ("Menuiserie Dupont SRL", "Chaussée de Charleroi 154", "5000", "Namur", "BE", "tools"),
    ("Willems Verpakkingen BV", "Havenlaan 19", "8400", "Oostende", "BE", "packaging"),
    ("Garage Janssens BV", "Leuvensesteenweg 301", "3000", "Leuven", "BE", "tools"),
    ("Fiduciaire Mertens SRL", "Avenue Louise 221", "1050", "Ixelles", "BE", "office"),
    ("Goossens Elektro NV", "Brugsesteenweg 77", "8000", "Brugge", "BE", "tools"),
    ("Fromagerie Collignon SA", "Rue du Marché 12", "6700", "Arlon", "BE", "packaging"),
    ("De Smet Tuinaanleg BV", "Dorpsstraat 5", "9100", "Sint-Niklaas", "BE", "tools"),
    ("Hoste Schoonmaak BV", "Nijverheidslaan 33", "2800", "Mechelen", "BE", "office"),
    ("Renard Transports SA", "Rue de Mons 88", "7000", "Mons", "BE", "packaging"),
    ("Bakker Kantoorartikelen B.V.", "Keizersgracht 412", "1016 GC", "Amsterdam", "NL", "office"),
    ("Van Dijk Installatietechniek B.V.", "Coolsingel 65", "3012 AC", "Rotterdam", "NL", "tools"),
    ("Jansen & de Vries Drukwerk B.V.", "Oudegracht 201", "3511 NH", "Utrecht", "NL", "packaging"),
    ("Visser Logistiek B.V.", "Fuutlaan 14", "5613 AB", "Eindhoven", "NL", "packaging"),
    ("De Boer Bouwmaterialen B.V.", "Osloweg 22", "9723 BK", "Groningen", "NL", "tools"),
    ("Smit Verpakking B.V.", "Laan van Nieuw Oost-Indië 120", "2593 BR", "Den Haag", "NL", "packaging"),
    ("Mulder Facilitair B.V.", "Stationsplein 3", "6811 KG", "Arnhem", "NL", "office"),
    ("Bos Techniek B.V.", "Wilhelminasingel 40", "6221 BJ", "Maastricht", "NL", "tools"),
    ("Kok Horeca Groothandel B.V.", "Breestraat 87", "2311 CK", "Leiden", "NL", "packaging"),
    ("Hendriks Metaalbewerking B.V.", "Vlietweg 9", "5232 BN", "'s-Hertogenbosch", "NL", "tools"),
    ("Moreau Fournitures SARL", "12 rue de la République", "69002", "Lyon", "FR", "office"),
    ("Établissements Lefèvre SAS", "45 boulevard de la Liberté", "59800", "Lille", "FR", "tools"),
    ("Girard Emballages SA", "8 avenue Jean Jaurès", "31000", "Toulouse", "FR", "packaging"),
    ("Bernard & Fils SARL", "23 rue Sainte-Catherine", "33000", "Bordeaux", "FR", "tools"),
    ("Roux Maintenance Industrielle SAS", "150 avenue du Prado", "13008", "Marseille", "FR", "tools"),
    ("Fontaine Bureautique SARL", "7 place Kléber", "67000", "Strasbourg", "FR", "office"),
    ("Chevalier Outillage SAS", "31 rue Nationale", "37000", "Tours", "FR", "tools"),
    ("Garnier Logistique SA", "4 quai de la Fosse", "44000", "Nantes", "FR", "packaging"),
    ("Müller Bürobedarf GmbH", "Schildergasse 54", "50667", "Köln", "DE", "office"),
    ("Schmidt Werkzeugbau GmbH", "Industriestraße 17", "70565", "Stuttgart", "DE", "tools"),
    ("Schneider Verpackungen GmbH & Co. KG", "Hafenstraße 9", "20457", "Hamburg", "DE", "packaging"),
    ("Fischer Haustechnik GmbH", "Leopoldstraße 140", "80804", "München", "DE", "tools"),
    ("Weber Logistik AG", "Kaiserstraße 61", "60329", "Frankfurt am Main", "DE", "packaging"),
    ("Becker Druck & Medien GmbH", "Königsallee 22", "40212", "Düsseldorf", "DE", "office"),
    ("Hoffmann Facility Services GmbH", "Friedrichstraße 180", "10117", "Berlin", "DE", "office"),
]
SMALL_LIMITS = {"D0012": Decimal("750"), "D0024": Decimal("1000"), "D0032": Decimal("1500")}  # orders get held
SLOW_PAYERS = {"D0006", "D0017", "D0028", "D0036"}  # leave old invoices open; later orders get held
BANKRUPT = ("D0015", "Bankruptcy declared on 2 October; no new orders, claim filed with the curator")
PHONE_PREFIX = {"BE": "+32", "NL": "+31", "FR": "+33", "DE": "+49"}
CARRIERS = {
    "BE": ["bpost", "DPD", "DHL"],
    "NL": ["PostNL", "DHL", "DPD"],
    "FR": ["Geodis", "DHL", "DPD"],
    "DE": ["DHL", "GLS", "DPD"],
}
TRACKING_LINKS = {  # the manual carrier adapter builds the link from these patterns
    "bpost": "https://track.bpost.cloud/btr/web/#/search?itemCode={tracking}",
    "DPD": "https://tracking.dpd.de/status/en_US/parcel/{tracking}",
    "DHL": "https://www.dhl.com/be-en/home/tracking.html?tracking-id={tracking}",
    "PostNL": "https://jouw.postnl.nl/track-and-trace/{tracking}",
    "GLS": "https://gls-group.com/track/{tracking}",
    "Geodis": "https://espace-client.geodis.com/services/tracking/{tracking}",
}

# Catalogue: (sku, name, unit, price, [(variant sku, variant name, price)] or None). Tax 21% unless listed.
OFFICE = [
    (
        "OFF-PAP-A4",
        "Copy paper A4 80 g/m², box of 5 reams",
        "box",
        "24.90",
        [("W", "white", "24.90"), ("R", "recycled", "23.50"), ("P", "premium 90 g/m²", "31.00")],
    ),
    ("OFF-PAP-A3", "Copy paper A3 80 g/m², ream of 500", "ream", "12.40", None),
    (
        "OFF-PEN-BP",
        "Ballpoint pen medium, box of 50",
        "box",
        "14.90",
        [("BL", "blue", "14.90"), ("BK", "black", "14.90"), ("RD", "red", "14.90")],
    ),
    ("OFF-PEN-GEL", "Gel pen 0.7 mm, pack of 12", "pack", "9.80", [("BL", "blue", "9.80"), ("BK", "black", "9.80")]),
    (
        "OFF-MRK-PERM",
        "Permanent marker, pack of 10",
        "pack",
        "11.50",
        [("BK", "black", "11.50"), ("AS", "assorted colours", "12.20")],
    ),
    ("OFF-MRK-WB", "Whiteboard marker set, 4 colours", "set", "6.90", None),
    ("OFF-HIL", "Highlighter, pack of 10", "pack", "7.50", [("YE", "yellow", "7.50"), ("AS", "assorted", "7.90")]),
    (
        "OFF-LAF",
        "Lever arch file A4, 80 mm",
        "pc",
        "3.20",
        [("BL", "blue", "3.20"), ("BK", "black", "3.20"), ("RD", "red", "3.20"), ("GN", "green", "3.20")],
    ),
    ("OFF-RB-A4", "Ring binder A4, 2 rings", "pc", "2.10", None),
    ("OFF-SUSP", "Suspension files A4, box of 25", "box", "18.90", None),
    (
        "OFF-NOTE",
        "Sticky notes 76 x 76 mm, pack of 12",
        "pack",
        "8.40",
        [("YE", "yellow", "8.40"), ("NE", "neon", "9.20")],
    ),
    ("OFF-STPL-30", "Desktop stapler, 30 sheets", "pc", "12.90", None),
    ("OFF-STPL-HD", "Heavy-duty stapler, 200 sheets", "pc", "64.00", None),
    ("OFF-STAPLES", "Staples 24/6, box of 5000", "box", "2.40", None),
    ("OFF-CLIP", "Paper clips 28 mm, box of 100", "box", "1.50", None),
    (
        "OFF-ENV",
        "Envelopes",
        "box",
        "21.00",
        [
            ("C4", "C4 with window, box of 250", "34.00"),
            ("C5", "C5, box of 500", "29.00"),
            ("DL", "DL with window, box of 500", "21.00"),
        ],
    ),
    (
        "OFF-TONER",
        "Laser toner cartridge (compatible)",
        "pc",
        "79.00",
        [("BK", "black", "79.00"), ("CY", "cyan", "89.00"), ("MA", "magenta", "89.00"), ("YE", "yellow", "89.00")],
    ),
    ("OFF-ORG", "Desk organiser, black mesh", "pc", "19.90", None),
    ("OFF-LAM-POU", "Laminating pouches A4, pack of 100", "pack", "15.90", None),
    ("OFF-LAM-A3", "Laminator A3", "pc", "129.00", None),
    ("OFF-SHRED", "Shredder P-4 cross-cut, 20 l", "pc", "189.00", None),
    ("OFF-CHAIR", "Ergonomic office chair, mesh back", "pc", "349.00", None),
    ("OFF-DESK-EL", "Sit-stand desk, electric, 160 x 80 cm", "pc", "629.00", None),
    ("OFF-LAMP", "LED desk lamp, dimmable", "pc", "45.00", None),
    ("OFF-MONARM", "Monitor arm, single", "pc", "89.00", None),
    ("OFF-WB-120", "Magnetic whiteboard 120 x 90 cm", "pc", "119.00", None),
    ("OFF-FLIP", "Flipchart pads, pack of 5", "pack", "39.00", None),
    ("OFF-CALC", "Desktop calculator, 12 digits", "pc", "16.50", None),
    (
        "OFF-LBL-TAPE",
        "Label printer tape 12 mm",
        "pc",
        "18.90",
        [("BW", "black on white", "18.90"), ("BY", "black on yellow", "19.90")],
    ),
    ("OFF-LBL-PRN", "Label printer, desktop", "pc", "99.00", None),
    ("OFF-CASH", "Cash box with tray", "pc", "29.90", None),
    ("OFF-BAT", "Batteries AA, pack of 24", "pack", "12.60", None),
    ("OFF-PUNCH", "Hole punch, 2 holes, 40 sheets", "pc", "14.90", None),
    ("OFF-SCISS", "Office scissors 21 cm", "pc", "4.80", None),
    ("OFF-TAPE-INV", "Invisible tape 19 mm x 33 m, 8 rolls", "pack", "9.60", None),
]
TOOLS = [
    ("TLS-DRL-18", "Cordless drill 18 V, 2 batteries", "pc", "189.00", None),
    ("TLS-IMP-18", "Impact driver 18 V", "pc", "159.00", None),
    ("TLS-GRND", "Angle grinder 125 mm, 1100 W", "pc", "89.00", None),
    ("TLS-JIG", "Jigsaw 650 W", "pc", "99.00", None),
    ("TLS-CSAW", "Circular saw 190 mm", "pc", "149.00", None),
    ("TLS-SDS", "SDS-plus hammer drill 800 W", "pc", "229.00", None),
    ("TLS-SD-SET", "Screwdriver set, 12 pieces", "set", "34.90", None),
    ("TLS-BIT-SET", "Screwdriver bit set, 32 pieces", "set", "19.90", None),
    ("TLS-HSS", "HSS drill bit set", "set", "24.50", [("19", "19 pieces", "24.50"), ("25", "25 pieces", "36.00")]),
    ("TLS-SOCK", 'Socket set 1/2", 24 pieces', "set", "79.00", None),
    (
        "TLS-SPAN",
        "Combination spanner set",
        "set",
        "44.00",
        [("8-19", "8-19 mm", "44.00"), ("6-32", "6-32 mm", "119.00")],
    ),
    ("TLS-ADJ", "Adjustable wrench", "pc", "17.90", [("250", "250 mm", "17.90"), ("300", "300 mm", "22.40")]),
    ("TLS-HAM", "Claw hammer 450 g", "pc", "14.50", None),
    ("TLS-TAPE", "Tape measure", "pc", "8.90", [("5", "5 m", "8.90"), ("8", "8 m", "12.50")]),
    ("TLS-LVL", "Spirit level", "pc", "19.90", [("60", "60 cm", "19.90"), ("120", "120 cm", "34.00")]),
    ("TLS-KNIFE", "Utility knife with 5 blades", "pc", "7.40", None),
    ("TLS-BLADE", "Spare trapezoid blades, pack of 10", "pack", "3.90", None),
    ("TLS-GOGG", "Safety goggles, anti-fog", "pc", "5.90", None),
    (
        "TLS-GLOVE",
        "Work gloves nitrile-coated, pair",
        "pair",
        "4.50",
        [("9", "size 9", "4.50"), ("10", "size 10", "4.50")],
    ),
    ("TLS-EAR", "Ear defenders SNR 30 dB", "pc", "17.50", None),
    ("TLS-HELM", "Safety helmet, white", "pc", "12.90", None),
    ("TLS-VEST", "High-visibility vest, yellow", "pc", "4.90", None),
    ("TLS-LADDER", "Aluminium combination ladder 3 x 8 rungs", "pc", "219.00", None),
    ("TLS-BENCH", "Folding workbench", "pc", "129.00", None),
    ("TLS-BOX", 'Tool box 22"', "pc", "32.00", None),
    ("TLS-EXT", "Extension cable reel", "pc", "39.00", [("25", "25 m", "39.00"), ("50", "50 m", "64.00")]),
    ("TLS-LIGHT", "LED work light 30 W", "pc", "49.00", None),
    ("TLS-VAC", "Wet and dry vacuum 30 l", "pc", "159.00", None),
    ("TLS-SEAL", "Silicone sealant 310 ml", "pc", "6.80", [("WH", "white", "6.80"), ("TR", "transparent", "6.80")]),
    ("TLS-SCR", "Wood screws, box of 200", "box", "7.90", [("440", "4 x 40 mm", "7.90"), ("560", "5 x 60 mm", "9.60")]),
    ("TLS-PLUG", "Wall plugs 8 mm, box of 100", "box", "4.20", None),
    ("TLS-TIES", "Cable ties 300 mm, pack of 100", "pack", "5.60", None),
    ("TLS-PWASH", "Pressure washer 2000 W", "pc", "299.00", None),
    ("TLS-WELD", "Inverter welding machine 160 A", "pc", "399.00", None),
    ("TLS-COMP", "Air compressor 50 l", "pc", "289.00", None),
    ("TLS-GEN", "Petrol generator 3.0 kW", "pc", "879.00", None),
    ("TLS-MULTI", "Oscillating multi-tool", "pc", "119.00", None),
    ("TLS-SAND", "Random orbital sander 125 mm", "pc", "94.00", None),
    ("TLS-PLIERS", "Combination pliers 180 mm", "pc", "13.90", None),
    ("TLS-CHISEL", "Wood chisel set, 4 pieces", "set", "27.50", None),
]
PACKAGING = [
    (
        "PKG-BOX",
        "Shipping box, double wall",
        "bundle",
        "21.00",
        [
            ("S", "305 x 215 x 110 mm, bundle of 25", "21.00"),
            ("M", "400 x 300 x 200 mm, bundle of 25", "32.00"),
            ("L", "600 x 400 x 400 mm, bundle of 10", "27.50"),
        ],
    ),
    (
        "PKG-TAPE",
        "Packing tape 50 mm x 66 m, 6 rolls",
        "pack",
        "11.90",
        [("BR", "brown", "11.90"), ("CL", "clear", "11.90"), ("LN", "low-noise brown", "14.80")],
    ),
    ("PKG-DISP", "Tape dispenser 50 mm", "pc", "14.90", None),
    ("PKG-BUBB", "Bubble wrap roll, 100 m", "roll", "29.90", [("50", "500 mm", "29.90"), ("100", "1000 mm", "49.90")]),
    ("PKG-STRT", "Stretch film 500 mm 23 µm, 6 rolls", "pack", "54.00", None),
    ("PKG-STRT-DSP", "Stretch film hand dispenser", "pc", "24.00", None),
    ("PKG-VOID", "Void fill paper roll", "roll", "18.50", None),
    ("PKG-PEAN", "Packing peanuts, 400 l bag", "bag", "34.00", None),
    ("PKG-MAIL", "Mailing bags 250 x 350 mm, box of 500", "box", "39.00", None),
    ("PKG-PADD", "Padded envelopes C5, box of 100", "box", "22.00", None),
    ("PKG-LBL-FRAG", "'Fragile' labels, roll of 1000", "roll", "9.90", None),
    ("PKG-LBL-PAL", "Pallet labels A5, box of 500", "box", "14.00", None),
    ("PKG-LBL-THRM", "Thermal shipping labels 100 x 150 mm, roll of 500", "roll", "12.90", None),
    ("PKG-STRAP-KIT", "PP strapping kit 12 mm", "set", "79.00", None),
    ("PKG-STRAP", "PP strapping band 12 mm, roll", "roll", "19.50", None),
    ("PKG-EDGE", "Edge protectors 50 x 50 mm, pack of 100", "pack", "42.00", None),
    ("PKG-PAL", "Euro pallet 1200 x 800 mm, new", "pc", "16.50", None),
    ("PKG-CORR", "Corrugated roll 1000 mm x 75 m", "roll", "44.00", None),
    ("PKG-KRAFT", "Kraft paper 750 mm x 300 m", "roll", "36.00", None),
    ("PKG-POUCH", "Document enclosed pouches C5, box of 1000", "box", "27.00", None),
    ("PKG-CUTTER", "Safety box cutter", "pc", "8.90", None),
    ("PKG-SEALER", "Carton sealing machine, semi-automatic", "pc", "649.00", None),
    ("PKG-SCALE", "Parcel scale 150 kg", "pc", "89.00", None),
    ("PKG-ZIP", "Grip seal bags 100 x 150 mm, box of 1000", "box", "17.40", None),
    ("PKG-TUBE", "Postal tubes A2 with end caps, box of 25", "box", "31.00", None),
    ("PKG-CRATE", "Stacking crate 60 x 40 cm", "pc", "11.80", [("23", "23 l", "11.80"), ("32", "32 l", "14.20")]),
]
SPECIAL_TAX = [  # (sku, name, unit, price, tax rate, category)
    ("OFF-BOOK-SAFE", "Workplace safety handbook (book)", "pc", "29.50", "0.0600", "tools"),
    ("OFF-BOOK-FORK", "Forklift operator training manual (book)", "pc", "24.00", "0.0600", "packaging"),
    ("OFF-BOOK-ATLAS", "Road atlas Benelux 2026 (book)", "pc", "18.95", "0.0600", "office"),
    ("PKG-PAL-DEP", "Returnable Euro pallet deposit", "pc", "12.00", "0.0000", "packaging"),
]
SERVICES = [  # (sku, name, unit, price, tax rate, category)
    ("SVC-INSTALL", "Installation technician, per hour", "h", "65.00", "0.2100", "tools"),
    ("SVC-ASSEMBLY", "Office furniture assembly, per hour", "h", "55.00", "0.2100", "office"),
    ("SVC-EXPRESS", "Express delivery surcharge", "pc", "25.00", "0.2100", "office"),
    ("SVC-PALLET", "Pallet delivery, per pallet", "pc", "45.00", "0.2100", "packaging"),
    ("SVC-TRAIN", "Power tool safety training, half day", "pc", "390.00", "0.2100", "tools"),
    ("SVC-MAINT", "Annual tool maintenance contract", "pc", "480.00", "0.2100", "tools"),
    ("SVC-CALIB", "Calibration of measuring tools", "pc", "85.00", "0.2100", "tools"),
    ("SVC-PRINT", "Custom box printing set-up", "pc", "150.00", "0.2100", "packaging"),
    ("SVC-WASTE", "Packaging waste collection", "pc", "35.00", "0.2100", "packaging"),
    ("SVC-CUSTOMS", "Customs clearance (disbursement)", "pc", "40.00", "0.0000", "packaging"),
]
NOT_FOR_SALE = [  # (sku, name, unit, price or None, active): show the order-entry refusals
    ("OFF-FAX-ROLL", "Thermal fax roll 216 mm x 30 m (discontinued)", "roll", "3.90", False),
    ("TLS-DRL-14", "Cordless drill 14.4 V (discontinued)", "pc", "129.00", False),
    ("PKG-FOAM-CUSTOM", "Custom-cut foam inserts (price on request)", "pc", None, True),
]
LOW_STOCK = {"OFF-DESK-EL": 4, "TLS-GEN": 3, "PKG-SEALER": 2}  # never ordered here: a low-stock view has rows

RELEASE_REASONS = [
    "Customer paid a deposit by bank transfer; released.",
    "PO confirmed by the customer's finance department; one-off exception approved.",
    "Director approved the order above the limit; limit review planned.",
]
REJECT_REASONS = [
    "Far above the credit limit and the customer refused prepayment.",
    "Customer asked for a credit application first; order rejected until it is reviewed.",
    "Duplicate of an earlier order, confirmed by the customer by phone.",
]
NOTES = ["Deliver to the loading dock at the back.", "Call before delivery.", "Goods entrance closes at 16:00.", ""]


@dataclass
class PlannedOrder:
    order_date: datetime.date
    customer: Customer
    lines: list[tuple[Product, Decimal]]
    credit: str  # auto (approve or, if held anyway, release) | hold | reject | release
    after: str  # none (not shipped) | open | partial | paid
    channel: str = SalesOrder.Channel.CLERK
    by_customer: bool = False
    customer_po: str = ""
    requested_date: datetime.date | None = None
    notes: str = ""
    ship_date: datetime.date | None = None
    carrier: str = ""
    tracking_number: str = ""
    payments: list[tuple[datetime.date, Decimal | None, str]] = field(default_factory=list)  # amount None: the rest
    reason: str = ""
    order: SalesOrder | None = None


class Command(BaseCommand):
    help = "Load demo users, customers, products, stock and six months of orders (idempotent)."

    def handle(self, *args, **options):
        started = time.monotonic()
        if Customer.objects.filter(account_number=MARKER_ACCOUNT).exists():
            self.stdout.write(f"Demo data already loaded (customer {MARKER_ACCOUNT} exists); nothing changed.")
            self._print_logins()
            return
        stats: dict = {}
        pdfs_queued = True
        try:
            with transaction.atomic():
                stats.update(Seeder(rng=random.Random(42), today=timezone.localdate()).run())
        except kombu.exceptions.OperationalError as error:
            # Raised by a PDF render hook of o2c.flow.ship, which runs only after COMMIT:
            # the data is saved; the PDFs are rendered when a worker is asked to render them.
            pdfs_queued = False
            self.stderr.write(
                f"The Celery broker did not answer ({error}); the demo data is saved, but the invoice "
                "PDFs were not queued (admin > Invoices > 'Queue PDF rendering' queues them later)."
            )
        self._print_summary(stats, time.monotonic() - started, pdfs_queued=pdfs_queued)
        self._print_logins()

    def _print_summary(self, stats: dict, elapsed: float, *, pdfs_queued: bool) -> None:
        states = stats["order_states"]
        self.stdout.write(
            f"Demo data loaded in {elapsed:.1f} s:\n"
            f"  {stats['users']} users, {stats['customers']} customers ({stats['inactive_customers']} inactive), "
            f"{stats['products']} products, {stats['warehouses']} warehouses\n"
            f"  {stats['orders']} orders: "
            + ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in sorted(states.items()))
            + f" ({stats['approved_not_shipped']} approved not yet shipped, "
            f"{stats['credit_releases']} released by the credit manager)\n"
            f"  {stats['invoices']} invoices: {stats['invoices_paid']} paid, {stats['invoices_open']} open "
            f"({stats['invoices_overdue']} overdue, {stats['invoices_part_paid']} partly paid); "
            f"{stats['payments']} payments"
        )
        if pdfs_queued:
            self.stdout.write(
                f"  {stats['invoices']} invoice PDFs queued: the Celery worker renders them (`make run` starts one)."
            )

    def _print_logins(self) -> None:
        self.stdout.write(f'\nDemo logins (password "{PASSWORD}" for all):')
        self.stdout.write(f"  {'username':<10} {'role':<18} password")
        for username, _, _, role in USERS:
            label = "Admin (superuser)" if role == "superuser" else role
            self.stdout.write(f"  {username:<10} {label:<18} {PASSWORD}")
        key = base64.b32encode(bytes.fromhex(DEMO_ADMIN_TOTP_KEY)).decode().rstrip("=")
        self.stdout.write(f"  admin also needs a code: add the key {key} to an authenticator app (TOTP, 6 digits).")


class Seeder:
    """Builds the demo world. Master data is written directly (there is no workflow for it);
    every order, shipment, invoice and payment goes through o2c.flow."""

    def __init__(self, *, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.today = today

    def run(self) -> dict:
        self.users = self._create_users()
        BankAccount.objects.get_or_create(
            iban="BE68539007547034",
            defaults={"name": "Main current account", "bic": "GKCCBEBB", "currency": "EUR", "is_default": True},
        )
        self.customers = self._create_customers()
        self.categories = self._create_products()
        plans = self._plan_orders()
        self._create_stock(plans)
        self.releases = 0
        self._seed_billing(plans)
        self._run_orders(plans)
        self._fulfilment_after_shipping()
        self._portal_activity()
        self._seed_bundle()
        self._report_history()
        code, reason = BANKRUPT
        Customer.objects.filter(account_number=code).update(is_active=False, blocked_reason=reason)
        self._credit_extras()
        self._create_order_master_data()
        self._cash_application()
        self._collections()
        return self._stats(plans)

    def _collections(self) -> None:
        """Collections room: the AR clerk collects every account (one catch-all rule, applied as
        the nightly task does), a follow-up, a promise to pay on the most overdue account, a
        logged call, and monthly statements for two customers. The bankrupt customer is blocked
        from dunning; today's dunning run (which skips the promised account) waits as a preview
        for the finance manager (default procedure and reminder policies: migration)."""
        from receivables import collections
        from receivables.models import CollectorRule, DunningBlock, StatementPreference

        code, reason = BANKRUPT
        DunningBlock.objects.get_or_create(
            customer=Customer.objects.get(account_number=code), defaults={"reason": reason[:200]}
        )

        collector, _ = Collector.objects.get_or_create(user=self.users["ar"])
        CollectorRule.objects.get_or_create(collector=collector, priority=100)
        collections.apply_collector_rules()
        overdue = (
            Invoice.objects.filter(status=Invoice.Status.ISSUED, amount_open__gt=0, due_date__lt=self.today)
            .select_related("customer")
            .order_by("due_date")
            .first()
        )
        if overdue is not None:
            customer = overdue.customer
            collections.log_call(
                customer=customer,
                outcome="promised",
                summary="Spoke to accounts payable: they will pay the oldest invoice next week.",
                on=self.today,
                follow_up_on=self.today + datetime.timedelta(days=8),
                by=self.users["ar"],
            )
            collections.record_promise(
                customer=customer,
                promised_date=self.today + datetime.timedelta(days=7),
                amount=overdue.amount_open,
                invoices=[overdue],
                on=self.today,
                by=self.users["ar"],
            )
        for customer in self.customers[:2]:
            StatementPreference.objects.get_or_create(customer=customer, defaults={"monthly": True})
        flow.run_dunning(on=self.today)

    def _credit_extras(self) -> None:
        """Credit room rows: exchange rates, a raise waiting for a second person, a first-time
        customer whose order waits on its credit application, then the nightly behaviour and
        weekly review tasks run once, so profiles have figures and the review queue has rows."""
        for currency, rate in [("USD", "0.92"), ("GBP", "1.17")]:
            ExchangeRate.objects.get_or_create(
                from_currency=currency, to_currency="EUR", valid_from=self.today, defaults={"rate": Decimal(rate)}
            )
        profile = CreditProfile.objects.get(customer__account_number="D0002")
        credit_services.request_limit_change(
            profile=profile,
            new_limit=profile.credit_limit + Decimal("75000"),
            reason="Customer opened a second site; yearly volume doubles.",
            by=self.users["credit"],
        )
        newcomer = Customer.objects.create(
            account_number="N0001",
            name="Harbour Lights Trading BV",
            email="accounts@harbourlights.example",
            address_line="Kaai 12",
            postal_code="2000",
            city="Antwerpen",
            country="BE",
            payment_terms=PaymentTerms.objects.get(code="NET30"),
        )
        product = next(p for p in self.categories["office"] if p.unit_price and p.is_active)
        flow.submit_order(
            by=self.users["clerk"],
            customer_account=newcomer.account_number,
            lines=[LineInput(product.sku, Decimal("3"))],
            customer_po="HL-0001",
        )
        credit_services.submit_application(
            customer=newcomer,
            requested_limit=Decimal("20000"),
            trade_references="Office Depot Benelux, J. Smits, +32 3 555 01 01\nBouwmarkt Noord, A. Claes",
            bank_name="KBC",
            bank_account="BE71096123456769",
            annual_revenue=Decimal("2400000"),
            net_income=Decimal("180000"),
            years_in_business=7,
            by=self.users["clerk"],
        )
        CreditProfile.objects.filter(reviewed_at__isnull=False).update(
            review_due=F("reviewed_at") + datetime.timedelta(days=365), reviewed_risk_class="A"
        )
        credit_services.recompute_behaviour(on=self.today)
        credit_services.list_for_review(on=self.today)

    def _cash_application(self) -> None:
        """Today's bank statement through cash application: three invoices paid by reference
        (their payers' IBANs learned), a stranger's payment for the exceptions queue, and the
        bank's fee caught by the finance manager's rule; then the nightly reconciliation."""
        from django.core.files.base import ContentFile

        from o2c import tasks
        from o2c.bench.cashapp import camt053_document
        from receivables.models import CashApplicationSettings, CsvMapping, MatchingRule, StatementUpload

        account = BankAccount.objects.get(iban="BE68539007547034")
        CashApplicationSettings.objects.get_or_create(pk=1)
        MatchingRule.objects.get_or_create(
            name="Bank fees", defaults={"text_contains": "ACCOUNT FEE", "action": MatchingRule.Action.BANK_FEES}
        )
        CsvMapping.objects.get_or_create(
            name="Main account CSV export",
            defaults={
                "bank_account": account,
                "amount_column": "Amount",
                "text_column": "Label",
                "counterparty_name_column": "Partner Name",
                "date_format": "%Y-%m-%d",
            },
        )
        entries = [
            {
                "amount": invoice.amount_open,
                "reference": f"DEMO-{invoice.pk}",
                "remittance": f"Invoice {invoice.number}",
                "name": invoice.customer.name,
                "iban": f"BE{71 - n}0961234567{69 - n:02d}",
            }
            for n, invoice in enumerate(
                Invoice.objects.filter(status=Invoice.Status.ISSUED, amount_open__gt=0).select_related("customer")[:3]
            )
        ]
        entries += [
            {
                "amount": Decimal("250.00"),
                "reference": "DEMO-UNKNOWN",
                "name": "Stranger Trading Ltd",
                "remittance": "Payment for order",
            },
            {"amount": Decimal("-7.50"), "reference": "DEMO-FEE", "name": "Our bank", "remittance": "ACCOUNT FEE"},
        ]
        data = camt053_document(
            iban=account.iban,
            currency="EUR",
            statement_id=f"DEMO-{self.today}",
            opening=Decimal("10000.00"),
            on=self.today,
            entries=entries,
        )
        flow.import_statement(bank_account=account, data=data, file_name="demo-statement.xml")
        if not StatementUpload.objects.filter(file_name="demo-statement.xml").exists():
            upload = StatementUpload(
                bank_account=account,
                file_name="demo-statement.xml",
                status=StatementUpload.Status.DONE,
                message="Imported by seed_demo.",
            )
            upload.file.save("demo-statement.xml", ContentFile(data), save=True)
        tasks.nightly_cash_reconciliation()

    def _create_order_master_data(self) -> None:
        """Addresses, contacts, price lists, discount limits and one CSV import waiting for
        confirmation. Made after the orders, so the six months above keep their list prices."""
        for customer in self.customers:
            Address.objects.create(
                customer=customer, kind=Address.Kind.SHIPPING, label="Main warehouse", name=customer.name,
                address_line=customer.address_line, postal_code=customer.postal_code, city=customer.city,
                country=customer.country, is_default=True,
            )  # fmt: skip
            Contact.objects.create(customer=customer, name="Accounts payable", email=customer.email, role="invoices")
        first = self.customers[0]
        Contact.objects.create(
            customer=first, name="Purchasing desk", email=f"orders@{_domain(first.name)}.example", role="orders"
        )
        Contact.objects.create(
            customer=first, name="Finance director", email=f"finance@{_domain(first.name)}.example", role="dunning"
        )
        products = [p for group in self.categories.values() for p in group][:6]
        for product in products:
            ProductPrice.objects.create(
                product=product, currency="USD", unit_price=product.unit_price * Decimal("1.10")
            )
        key_accounts = PriceList.objects.create(code="KEY", name="Key accounts", currency="EUR")
        for product in products[:3]:
            PriceListItem.objects.create(
                price_list=key_accounts, product=product, unit_price=product.unit_price * Decimal("0.95")
            )
            PriceListItem.objects.create(
                price_list=key_accounts, product=product, min_quantity=Decimal("50"), unit_price=product.unit_price * Decimal("0.90")
            )  # fmt: skip
        Customer.objects.filter(pk=self.customers[-1].pk).update(price_list=key_accounts)
        for role, percent in [(roles.ORDER_CLERK, "5"), (roles.CREDIT_MANAGER, "10"), (roles.FINANCE_MANAGER, "15")]:
            DiscountLimit.objects.create(group=Group.objects.get(name=role), max_percent=Decimal(percent))
        sample = "order_key,customer_account,sku,quantity,customer_po\n" + "".join(
            f"WEB-{n},{first.account_number},{products[n % 3].sku},{n + 1},WEB-PO-{n}\n" for n in range(3)
        )
        order_imports.create_import(filename="webshop-export.csv", data=sample.encode(), by=self.users["clerk"])

    # --- billing master data (invoicing) ---------------------------------------------------------
    def _seed_billing(self, plans: list[PlannedOrder]) -> None:
        """Our company, instalment terms for the customer with the most paid-up orders, a
        billing profile for everyone (one also gets the UBL attached to its emails)."""
        company = invoicing_services.current_company()
        if not company.legal_info:
            Company.objects.filter(pk=company.pk).update(
                legal_info="NV, RPR Brussels",
                footer_text="Northwind Supplies NV · RPR Brussels · www.northwind.example",
            )
        terms, _ = PaymentTerms.objects.get_or_create(
            code="INST-30-60", defaults={"name": "Half at 30, half at 60 days", "net_days": 60}
        )
        for sequence, days in ((1, 30), (2, 60)):
            PaymentTermsInstalment.objects.get_or_create(
                terms=terms, sequence=sequence, defaults={"percent": Decimal("50"), "days": days}
            )
        for customer in self.customers:
            BillingProfile.objects.get_or_create(customer=customer)
        paid_up = Counter(plan.customer.pk for plan in plans if plan.after == "paid" and plan.credit == "auto")
        if paid_up:
            Customer.objects.filter(pk=paid_up.most_common(1)[0][0]).update(payment_terms=terms)
        if len(self.customers) > 2:
            BillingProfile.objects.filter(customer=self.customers[2]).update(attach_xml=True)

    def _seed_bundle(self) -> None:
        ids = list(Invoice.objects.exclude(status=Invoice.Status.DRAFT).values_list("pk", flat=True)[:3])
        if ids and not DocumentBundle.objects.exists():
            invoicing_services.request_bundle(invoice_ids=ids, by=self.users["billing"])

    # --- master data -----------------------------------------------------------------------
    def _create_users(self) -> dict:
        if any(not Group.objects.filter(name=role).exists() for role in roles.ROLES):
            roles.sync_roles()  # groups come from a data migration; a flushed test database lacks them
        User = get_user_model()
        password = make_password(PASSWORD)  # hashed once: the hasher is slow on purpose
        users = {}
        for username, first_name, last_name, role in USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first_name, last_name
            user.email = f"{username}@northwind.example"
            user.password = password
            user.is_active = True
            user.is_staff = user.is_superuser = role == "superuser"
            user.save()
            if role != "superuser":
                user.groups.add(Group.objects.get(name=role))
            else:  # administrators sign in with a second factor (o2c/security.py)
                TOTPDevice.objects.get_or_create(
                    user=user, name="Demo authenticator", defaults={"key": DEMO_ADMIN_TOTP_KEY, "confirmed": True}
                )
            users[username] = user
        return users

    def _create_customers(self) -> list[Customer]:
        terms = {
            code: PaymentTerms.objects.get_or_create(
                code=code, defaults={"name": f"{days} days net", "net_days": days}
            )[0]
            for code, days in [("NET14", 14), ("NET30", 30), ("NET60", 60)]
        }
        customers = []
        self.themes: dict[str, str] = {}
        for number, (name, street, postal_code, city, country, theme) in enumerate(CUSTOMERS, start=1):
            account = f"D{number:04d}"
            term = self.rng.choices(["NET14", "NET30", "NET60"], weights=[2, 6, 2])[0]
            customer = Customer.objects.create(
                account_number=account,
                name=name,
                email=f"invoices@{_domain(name)}.example",
                phone=f"{PHONE_PREFIX[country]} {self.rng.randint(10, 99)} {self.rng.randint(100, 999)} {self.rng.randint(10, 99)} {self.rng.randint(10, 99)}",
                tax_id=_vat_number(country, self.rng),
                address_line=street,
                postal_code=postal_code,
                city=city,
                country=country,
                currency="EUR",
                payment_terms=terms[term],
            )
            self.themes[account] = theme
            if account in SMALL_LIMITS:
                limit = SMALL_LIMITS[account]
            elif account in SLOW_PAYERS:
                limit = Decimal(self.rng.randrange(40_000, 100_001, 5_000))
            else:
                limit = Decimal(self.rng.randrange(5_000, 100_001, 2_500))
            CreditProfile.objects.create(
                customer=customer,
                credit_limit=limit,
                max_overdue_days=self.rng.choice([30, 30, 30, 45, 60]),
                reviewed_at=self.today - datetime.timedelta(days=self.rng.randint(30, 400)),
            )
            customers.append(customer)
        PortalAccess.objects.create(user=self.users["customer"], customer=customers[0], can_manage_users=True)
        return customers

    def _portal_activity(self) -> None:
        """What the portal customer did there: a bank transfer started for its oldest open
        invoice, an address change asked for, invoices wanted as e-invoices, a dispute raised."""
        customer, user = self.customers[0], self.users["customer"]
        open_invoice = Invoice.objects.filter(customer=customer, status=Invoice.Status.ISSUED, kind="invoice")
        open_invoice = open_invoice.order_by("due_date", "id").first()
        if open_invoice is not None:
            intent = portal_services.start_payment(
                customer=customer, invoices=[open_invoice], provider="bank_transfer", by=user
            )
            portal_services.mark_awaiting_transfer(intent=intent)
        portal_services.request_change(
            customer=customer,
            kind="address",
            details="From 1 January our delivery address is Havenlaan 12, 1000 Brussels.",
            by=user,
        )
        portal_services.save_delivery_preference(
            customer=customer, channel="e_invoice", email="", peppol_id="0208:0403170701", by=user
        )
        disputed = (
            Invoice.objects.filter(customer=customer, status=Invoice.Status.ISSUED, kind="invoice", amount_open__gt=0)
            .exclude(pk=getattr(open_invoice, "pk", None))
            .order_by("-issue_date", "-id")
            .first()
        )
        if disputed is not None:  # a dispute raised in the portal, for AR's dispute list
            flow.open_dispute(
                invoice=disputed,
                reason="damaged",
                amount=min(disputed.amount_open, Decimal("50.00")),
                description="Two cartons arrived crushed; the photos follow.",
                by=user,
                in_portal=True,
            )

    def _create_products(self) -> dict[str, list[Product]]:
        categories: dict[str, list[Product]] = {"office": [], "tools": [], "packaging": []}
        services: dict[str, list[Product]] = {"office": [], "tools": [], "packaging": []}
        for category, catalogue in [("office", OFFICE), ("tools", TOOLS), ("packaging", PACKAGING)]:
            for sku, name, unit, price, variants in catalogue:
                for variant_sku, variant_name, variant_price in variants or [(None, None, price)]:
                    product = Product.objects.create(
                        sku=f"{sku}-{variant_sku}" if variant_sku else sku,
                        name=f"{name}, {variant_name}" if variant_name else name,
                        unit=unit,
                        unit_price=Decimal(variant_price),
                    )
                    if product.sku not in LOW_STOCK:
                        categories[category].append(product)
        for sku, name, unit, price, tax_rate, category in SPECIAL_TAX:
            product = Product.objects.create(
                sku=sku, name=name, unit=unit, unit_price=Decimal(price), tax_rate=Decimal(tax_rate)
            )
            categories[category].append(product)
        for sku, name, unit, price, tax_rate, category in SERVICES:
            product = Product.objects.create(
                sku=sku,
                name=name,
                unit=unit,
                unit_price=Decimal(price),
                tax_rate=Decimal(tax_rate),
                is_stock_tracked=False,
            )
            services[category].append(product)
        for sku, name, unit, price, active in NOT_FOR_SALE:
            Product.objects.create(
                sku=sku, name=name, unit=unit, unit_price=Decimal(price) if price else None, is_active=active
            )
        self.services = services
        return categories

    def _create_stock(self, plans: list[PlannedOrder]) -> None:
        """Enough on hand for every planned order (so each reserves in full), mostly in MAIN,
        some in the overflow warehouse: a reservation takes MAIN first, then the other."""
        main = Warehouse.objects.create(
            code="MAIN", name="Main warehouse Zellik", address="Zuiderlaan 14, 1731 Zellik", is_default=True
        )
        overflow = Warehouse.objects.create(
            code="GNT", name="Overflow warehouse Gent", address="Skaldenstraat 3, 9042 Gent"
        )
        demand: Counter = Counter()
        for plan in plans:
            for product, quantity in plan.lines:
                if product.is_stock_tracked:
                    demand[product.pk] += quantity
        by = self.users["warehouse"]
        for product in Product.objects.filter(is_stock_tracked=True, is_active=True).order_by("sku"):
            if product.sku in LOW_STOCK:
                receive_stock(
                    warehouse=main,
                    product=product,
                    quantity=Decimal(LOW_STOCK[product.sku]),
                    by=by,
                    note="Opening stock",
                )
                continue
            needed = demand[product.pk]
            total = _round_up(needed * Decimal("1.4") + self.rng.randint(5, 40), 5)
            if self.rng.random() < 0.3 and needed > 0:
                in_main = _round_up(needed * Decimal(self.rng.uniform(0.5, 0.9)), 5)
                receive_stock(warehouse=main, product=product, quantity=in_main, by=by, note="Opening stock")
                receive_stock(
                    warehouse=overflow, product=product, quantity=total - in_main, by=by, note="Opening stock"
                )
            else:
                receive_stock(warehouse=main, product=product, quantity=total, by=by, note="Opening stock")

    # --- the plan: which order, when, for whom, ending where -----------------------------------
    def _plan_orders(self) -> list[PlannedOrder]:
        rng = self.rng
        by_account = {c.account_number: c for c in self.customers}
        small = [by_account[a] for a in SMALL_LIMITS]
        slow = [by_account[a] for a in sorted(SLOW_PAYERS)]
        regular = [
            c for c in self.customers if c.account_number not in SMALL_LIMITS and c.account_number != BANKRUPT[0]
        ]
        weights = [
            4
            if c.account_number == MARKER_ACCOUNT
            else 1
            if c.account_number in SLOW_PAYERS
            else rng.choice([1, 1, 2, 3])
            for c in regular
        ]
        plans = []
        for _ in range(ORDER_COUNT):
            age = int(DAYS_OF_HISTORY * rng.random() ** 1.6)  # more orders lately: the business grows
            credit, after = _fate(rng, age)
            if credit != "auto":
                customer = rng.choice(small)
            elif after in ("open", "partial") and age > 45:
                customer = rng.choice(slow)
            else:
                customer = rng.choices(regular, weights=weights)[0]
            plans.append(self._plan(customer, age, credit, after))
        bankrupt = by_account[BANKRUPT[0]]
        plans += [
            self._plan(bankrupt, age, "auto", after) for age, after in [(150, "paid"), (118, "open"), (97, "partial")]
        ]
        marker = by_account[MARKER_ACCOUNT]  # the portal customer: a part-paid and an overdue invoice
        plans += [self._plan(marker, age, "auto", after) for age, after in [(44, "partial"), (38, "open")]]
        portal = self._plan(marker, 1, "auto", "none")
        portal.channel, portal.by_customer = SalesOrder.Channel.PORTAL, True
        plans.append(portal)
        return plans

    def _plan(self, customer: Customer, age: int, credit: str, after: str) -> PlannedOrder:
        rng = self.rng
        order_date = _weekday_on_or_before(self.today - datetime.timedelta(days=age))
        lines = self._lines(customer)
        if credit != "auto":  # make sure a small-limit customer's order is over its limit
            limit = SMALL_LIMITS[customer.account_number]
            expensive = [p for p in self.categories["tools"] if p.unit_price >= 100]
            while _total(lines) <= limit * Decimal("1.1"):
                product = rng.choice(expensive)
                if all(product != p for p, _ in lines):
                    lines.append((product, Decimal(rng.randint(1, 2))))
        while not _adds_up_in_floating_point(*_amounts(lines)):
            product, quantity = lines[0]
            lines[0] = (product, quantity + 1)
        total = sum(_amounts(lines))
        channel = rng.choices(
            [SalesOrder.Channel.CLERK, SalesOrder.Channel.PHONE, SalesOrder.Channel.EMAIL], weights=[3, 2, 3]
        )[0]
        plan = PlannedOrder(
            order_date=order_date, customer=customer, lines=lines, credit=credit, after=after, channel=channel
        )
        if customer.account_number == MARKER_ACCOUNT and rng.random() < 0.4:
            plan.channel, plan.by_customer = SalesOrder.Channel.PORTAL, True
        if rng.random() < 0.6:
            plan.customer_po = rng.choice([f"PO-{rng.randint(10000, 99999)}", f"4500{rng.randint(100000, 999999)}"])
        if rng.random() < 0.4:
            plan.requested_date = order_date + datetime.timedelta(days=rng.randint(3, 14))
        if rng.random() < 0.2:
            plan.notes = rng.choice(NOTES)
        plan.reason = rng.choice(REJECT_REASONS if credit == "reject" else RELEASE_REASONS)
        if after == "none":
            return plan
        ship_date = _weekday_on_or_after(order_date + datetime.timedelta(days=rng.randint(1, 4)))
        if ship_date > self.today:
            plan.after = "none"
            return plan
        plan.ship_date = ship_date
        plan.carrier = rng.choice(CARRIERS[customer.country])
        plan.tracking_number = f"{plan.carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}"
        net_days = customer.payment_terms.net_days
        method = rng.choices(
            [Payment.Method.TRANSFER, Payment.Method.DIRECT_DEBIT, Payment.Method.CARD], weights=[15, 4, 1]
        )[0]
        if after == "paid":
            paid_on = ship_date + datetime.timedelta(days=rng.randint(max(3, net_days // 2), net_days + 12))
            first = _share(total, rng.randint(40, 60))
            if rng.random() < 0.12 and _subtracts_in_floating_point(total, first):  # in two instalments
                first_on = ship_date + datetime.timedelta(days=rng.randint(3, max(4, net_days // 2)))
                plan.payments.append((first_on, first, method))
                paid_on = max(paid_on, first_on + datetime.timedelta(days=5))
            plan.payments.append((paid_on, None, method))
        elif after == "partial":
            plan.payments.append(
                (
                    ship_date + datetime.timedelta(days=rng.randint(5, net_days + 10)),
                    _share(total, rng.randint(30, 70)),
                    method,
                )
            )
        if any(on > self.today for on, _, _ in plan.payments):
            plan.payments = [p for p in plan.payments if p[0] <= self.today and p[1] is not None]
            plan.after = "partial" if plan.payments else "open"
        return plan

    def _lines(self, customer: Customer) -> list[tuple[Product, Decimal]]:
        rng = self.rng
        count = rng.choices([1, 2, 3, 4, 5], weights=[35, 32, 20, 9, 4])[0]
        lines: list[tuple[Product, Decimal]] = []
        while len(lines) < count:
            theme = self.themes[customer.account_number]
            category = theme if rng.random() < 0.75 else rng.choice(list(self.categories))
            product = rng.choice(self.categories[category])
            if any(product == p for p, _ in lines):
                continue
            price = product.unit_price
            if price < 5:
                quantity = rng.choice([10, 20, 25, 50, 100])
            elif price < 20:
                quantity = rng.randint(2, 30)
            elif price < 100:
                quantity = rng.randint(1, 10)
            else:
                quantity = rng.randint(1, 3)
            lines.append((product, Decimal(quantity)))
        if rng.random() < 0.12:
            service = rng.choice(self.services[self.themes[customer.account_number]])
            lines.append((service, Decimal(rng.randint(1, 6) if service.unit == "h" else 1)))
        return lines

    # --- the story, in date order, through the flow ----------------------------------------------
    def _run_orders(self, plans: list[PlannedOrder]) -> None:
        # Submitting in order-date order and shipping in ship-date order keeps every number
        # series (SO-, INV-) chronological. Payments follow their shipment at once, dated when
        # they arrived: the credit check compares against today, so cash must be in before
        # the customer's next order is checked.
        events = [(plan.order_date, 0, index, plan) for index, plan in enumerate(plans)]
        events += [(plan.ship_date, 1, index, plan) for index, plan in enumerate(plans) if plan.ship_date]
        for _, kind, _, plan in sorted(events, key=lambda event: event[:3]):
            if kind == 0:
                self._submit(plan)
            else:
                self._ship_and_collect(plan)

    def _submit(self, plan: PlannedOrder) -> None:
        users = self.users
        order = flow.submit_order(
            by=users["customer"] if plan.by_customer else users["clerk"],
            customer_account=plan.customer.account_number,
            lines=[LineInput(product.sku, quantity) for product, quantity in plan.lines],
            channel=plan.channel,
            customer_po=plan.customer_po,
            requested_date=plan.requested_date,
            notes=plan.notes,
            order_date=plan.order_date,
        )
        if order.status == SalesOrder.Status.CREDIT_HOLD:
            if plan.credit == "reject":
                order = flow.decide_credit_hold(order=order, release=False, reason=plan.reason, by=users["credit"])
            elif plan.credit == "auto" and plan.after == "none" and (self.today - plan.order_date).days <= 21:
                pass  # held by the check (a slow payer's overdue items): waits in the credit queue
            elif plan.credit != "hold":
                if plan.credit == "auto":  # held by the check (overdue items, or the limit): released
                    decision = order.credit_decisions.latest("id")
                    plan.reason = (
                        "Remittance advice received for the overdue invoices; released."
                        if "Overdue" in decision.reasons
                        else "Long-standing customer, temporary excess approved; released."
                    )
                order = flow.decide_credit_hold(order=order, release=True, reason=plan.reason, by=users["credit"])
                self.releases += 1
        plan.order = order

    def _ship_and_collect(self, plan: PlannedOrder) -> None:
        if plan.order.status != SalesOrder.Status.APPROVED:
            return
        invoice = flow.ship(
            order=plan.order,
            by=self.users["warehouse"],
            carrier=plan.carrier,
            tracking_number=plan.tracking_number,
            on=plan.ship_date,
        )
        still_open = invoice.amount_open
        for value_date, amount, method in plan.payments:
            amount = still_open if amount is None else amount  # None: the rest
            flow.receive_payment(
                invoice=invoice,
                amount=amount,
                value_date=value_date,
                by=self.users["ar"],
                method=method,
                reference=invoice.number,
            )
            still_open -= amount

    def _fulfilment_after_shipping(self) -> None:
        """What a warehouse has on any day: bins, carriers with tracking links, stock on its
        way, an order on backorder, deliveries signed for (one short), a return received."""
        by = self.users["warehouse"]
        for carrier in Carrier.objects.all():
            carrier.tracking_url = TRACKING_LINKS.get(carrier.name, "")
            carrier.save(update_fields=["tracking_url"])
        main = Warehouse.objects.get(code="MAIN")
        items = list(StockItem.objects.filter(warehouse=main).select_related("product").order_by("product__sku"))
        aisles = {}
        for index, item in enumerate(items):
            code = f"{item.product.sku[:1]}-{index // 12 + 1:02d}-{index % 12 // 4 + 1}"
            if code not in aisles:
                aisles[code] = Location.objects.create(warehouse=main, code=code, barcode=f"LOC{len(aisles) + 1:04d}")
            item.location = aisles[code]
        StockItem.objects.bulk_update(items, ["location"])
        for number, (sku, quantity) in enumerate(sorted(LOW_STOCK.items()), start=1):
            ExpectedReceipt.objects.create(
                warehouse=main,
                product=Product.objects.get(sku=sku),
                quantity=Decimal(quantity * 10),
                expected_date=self.today + datetime.timedelta(days=7 * number),
                reference=f"PO-{self.today.year}-{number:04d}",
            )
        # A customer orders more sealers than are on the shelf: the rest waits on backorder.
        order = flow.submit_order(
            by=self.users["clerk"],
            customer_account=MARKER_ACCOUNT,
            lines=[LineInput("PKG-SEALER", Decimal(LOW_STOCK["PKG-SEALER"] + 4))],
            customer_po="PO-SEALERS",
            order_date=self.today,
        )
        if order.status == SalesOrder.Status.CREDIT_HOLD:
            flow.decide_credit_hold(order=order, release=True, reason="Small order; released.", by=self.users["credit"])
        shipped = list(
            Shipment.objects.filter(kind=Shipment.Kind.GOODS, status=Shipment.Status.SHIPPED).order_by("-id")[:3]
        )
        if len(shipped) < 3:
            return
        short, clean, returned = shipped
        signed = timezone.make_aware(datetime.datetime.combine(short.ship_date, datetime.time(10, 30)))
        line = short.lines.order_by("-quantity").first()
        flow.record_delivery(
            shipment=short,
            signer_name="M. Claes",
            signed_at=signed + datetime.timedelta(days=1),
            lines=[fulfillment.LineDelivery(line.pk, line.quantity - 1, "damaged", "One carton crushed")],
            by=by,
        )
        for shipment in (clean, returned):
            signed = timezone.make_aware(datetime.datetime.combine(shipment.ship_date, datetime.time(14, 5)))
            flow.record_delivery(
                shipment=shipment, signer_name="Reception", signed_at=signed + datetime.timedelta(days=1), by=by
            )
        line = returned.lines.select_related("order_line__product").first()
        rma = fulfillment.authorise_return(
            customer=returned.customer, lines=[(line, Decimal("1"))], reason="Ordered one too many", by=by
        )
        flow.receive_return(
            rma=rma, received={rma.lines.get().pk: (Decimal("1"), ReturnLine.Disposition.RESTOCK)}, by=by
        )

    def _report_history(self) -> None:
        """Nightly AR snapshots of the last 60 days and the Monday cash forecasts of the last 8
        weeks, as the reporting tasks would have left them (trend chart, forecast vs actuals)."""
        for days_ago in range(60, 0, -1):
            reporting.take_ar_snapshot(on=self.today - datetime.timedelta(days=days_ago))
        monday = self.today - datetime.timedelta(days=self.today.weekday())
        for weeks_ago in range(8, -1, -1):
            reporting.record_cash_forecast(on=monday - datetime.timedelta(weeks=weeks_ago))

    def _stats(self, plans: list[PlannedOrder]) -> dict:
        order_ids = [plan.order.pk for plan in plans if plan.order]
        orders = SalesOrder.objects.filter(pk__in=order_ids)
        invoices = Invoice.objects.filter(order__in=orders)
        open_invoices = invoices.filter(status=Invoice.Status.ISSUED)
        return {
            "users": len(self.users),
            "customers": len(self.customers),
            "inactive_customers": Customer.objects.filter(is_active=False, account_number__startswith="D").count(),
            "products": Product.objects.count(),
            "warehouses": Warehouse.objects.count(),
            "orders": orders.count(),
            "order_states": Counter(orders.values_list("status", flat=True)),
            "approved_not_shipped": orders.filter(status=SalesOrder.Status.APPROVED, invoices__isnull=True).count(),
            "credit_releases": self.releases,
            "invoices": invoices.count(),
            "invoices_paid": invoices.filter(status=Invoice.Status.PAID).count(),
            "invoices_open": open_invoices.count(),
            "invoices_overdue": open_invoices.filter(due_date__lt=self.today).count(),
            "invoices_part_paid": open_invoices.filter(amount_open__lt=F("total")).count(),
            "payments": Payment.objects.filter(customer__in=self.customers).count(),
        }


# --- small helpers -----------------------------------------------------------------------------
def _fate(rng: random.Random, age: int) -> tuple[str, str]:
    """How an order of `age` days ends: (credit path, what happened after approval)."""
    if age <= 3:
        table = {("auto", "none"): 55, ("hold", "none"): 30, ("reject", "none"): 5, ("auto", "open"): 10}
    elif age <= 14:
        table = {
            ("auto", "none"): 12,
            ("hold", "none"): 15,
            ("reject", "none"): 6,
            ("release", "open"): 5,
            ("auto", "open"): 32,
            ("auto", "partial"): 8,
            ("auto", "paid"): 22,
        }
    elif age <= 45:
        table = {
            ("auto", "open"): 20,
            ("auto", "partial"): 14,
            ("auto", "paid"): 48,
            ("hold", "none"): 4,
            ("reject", "none"): 6,
            ("release", "paid"): 5,
            ("release", "open"): 3,
            ("auto", "none"): 2,
        }
    else:
        table = {
            ("auto", "paid"): 78,
            ("auto", "open"): 5,
            ("auto", "partial"): 5,
            ("reject", "none"): 5,
            ("release", "paid"): 6,
            ("release", "partial"): 1,
        }
    return rng.choices(list(table), weights=list(table.values()))[0]


def _amounts(lines: list[tuple[Product, Decimal]]) -> tuple[Decimal, Decimal]:
    """Net and tax of an order, rounded per line as orders.services does."""
    amounts = [line_amounts(quantity, p.unit_price, p.tax_rate, "EUR") for p, quantity in lines]
    return sum((net for net, _, _ in amounts), Decimal("0")), sum((tax for _, tax, _ in amounts), Decimal("0"))


def _total(lines: list[tuple[Product, Decimal]]) -> Decimal:
    return sum(_amounts(lines))


def _share(total: Decimal, percent: int) -> Decimal:
    """A part payment in whole euros, at least 1."""
    return max(Decimal("1"), (total * percent / 100).quantize(Decimal("1"), ROUND_DOWN))


def _adds_up_in_floating_point(a: Decimal, b: Decimal) -> bool:
    """Whether a + b == their sum also in binary floating point.

    SQLite keeps DecimalField values as REAL, so its CHECK total = net + tax (orders, invoices)
    refuses e.g. 0.10 + 0.20, and an open amount reduced in SQL by part payments can end a few
    1e-14 off the amount of the last payment. The demo data keeps clear of such figures so it
    loads the same on SQLite and PostgreSQL."""
    return float(a) + float(b) == float(a + b)


def _subtracts_in_floating_point(a: Decimal, b: Decimal) -> bool:
    return float(a) - float(b) == float(a - b)


def _round_up(quantity: Decimal, step: int) -> Decimal:
    return Decimal(-(-int(quantity) // step) * step)


def _weekday_on_or_before(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def _weekday_on_or_after(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


LEGAL_FORMS = {"nv", "bv", "b.v.", "sa", "srl", "sarl", "sas", "gmbh", "ag", "kg", "co.", "&", "fils", "zonen"}


def _domain(name: str) -> str:
    """'Müller Bürobedarf GmbH' -> 'muller-burobedarf' (made-up addresses under .example)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    words = [word for word in plain.split() if word not in LEGAL_FORMS]
    return "-".join("".join(ch for ch in word if ch.isalnum()) for word in words[:2])


def _vat_number(country: str, rng: random.Random) -> str:
    """A VAT number with a valid check digit (made up: it belongs to nobody)."""
    while True:
        if country == "BE":
            body = f"0{rng.randint(2_000_000, 9_999_999)}"
            return f"BE{body}{97 - int(body) % 97:02d}"
        if country == "NL":
            digits = [rng.randint(0, 9) for _ in range(8)]
            check = sum((9 - i) * d for i, d in enumerate(digits)) % 11
            if check < 10:
                return f"NL{''.join(map(str, digits))}{check}B01"
        elif country == "FR":
            body = str(rng.randint(10_000_000, 99_999_999))
            siren = body + str(_luhn_check_digit(body))
            return f"FR{int(siren + '12') % 97:02d}{siren}"
        elif country == "DE":
            body = str(rng.randint(10_000_000, 99_999_999))
            product = 10
            for digit in body:
                total = (int(digit) + product) % 10 or 10
                product = (2 * total) % 11
            return f"DE{body}{(11 - product) % 10}"
        else:
            return ""


def _luhn_check_digit(number: str) -> int:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10
