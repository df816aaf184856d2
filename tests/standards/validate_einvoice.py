#!/usr/bin/env python3
"""Validate an e-invoice against the official artefacts kept in ./validators.

Accepted inputs
  * UBL 2.1 Invoice / CreditNote XML (Peppol BIS Billing 3.0, EN 16931)
      -> UBL 2.1 XSD, CEN EN 16931 UBL schematron, Peppol BIS 3.0 schematron
  * Factur-X / ZUGFeRD 2.x PDF (PDF/A-3 with embedded CII XML)
      -> PDF container checks (embedded file, /AF, XMP fx: metadata, pdfaid),
         then the embedded XML as below
  * CII XML (Factur-X / ZUGFeRD 2.x / plain EN 16931 CII)
      -> Factur-X profile XSD, Factur-X profile schematron,
         CEN EN 16931 CII schematron (profiles BASIC, EN 16931, EXTENDED)

Every failed assertion is printed with its rule id.  Exit status: 0 when no
fatal finding, 1 when at least one fatal finding, 2 on usage/engine errors.

Requires: lxml, saxonche (XSLT 3.0 engine for the compiled schematrons) and
factur-x (PDF attachment extraction; it pulls in pypdf).

  python validate_einvoice.py invoice.xml
  python validate_einvoice.py invoice.pdf --json
  python validate_einvoice.py --selftest
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
DEFAULT_VALIDATORS = HERE / "validators"

NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDITNOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_SVRL = "http://purl.oclc.org/dsdl/svrl"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_PDFAID = "http://www.aiim.org/pdfa/ns/id/"

# Relative to the validators directory.
UBL_XSD = {
    "Invoice": "ubl-2.1/xsdrt/maindoc/UBL-Invoice-2.1.xsd",
    "CreditNote": "ubl-2.1/xsdrt/maindoc/UBL-CreditNote-2.1.xsd",
}
CEN_UBL_XSLT = "en16931/ubl/EN16931-UBL-validation.xslt"
CEN_CII_XSLT = "en16931/cii/EN16931-CII-validation.xslt"
PEPPOL_UBL_XSLT = "peppol/PEPPOL-EN16931-UBL.xslt"
FACTURX = {
    # level: (xsd, profile schematron, run CEN CII schematron too?)
    "minimum": ("facturx/minimum/Factur-X_MINIMUM.xsd", "facturx/minimum/Factur-X_1.09_MINIMUM.xsl", False),
    "basicwl": ("facturx/basicwl/Factur-X_BASICWL.xsd", "facturx/basicwl/FACTUR-X_BASIC-WL.xslt", False),
    "basic": ("facturx/basic/Factur-X_BASIC.xsd", "facturx/basic/Factur-X_1.09_BASIC.xsl", True),
    "en16931": ("facturx/en16931/Factur-X_EN16931.xsd", "facturx/en16931/FACTUR-X_EN16931.xslt", True),
    "extended": ("facturx/extended/Factur-X_EXTENDED.xsd", "facturx/extended/FACTUR-X_EXTENDED.xslt", True),
}
# fx:ConformanceLevel value in the PDF's XMP for each level.
XMP_LEVEL = {
    "minimum": "MINIMUM",
    "basicwl": "BASIC WL",
    "basic": "BASIC",
    "en16931": "EN 16931",
    "extended": "EXTENDED",
}
EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml")
RULE_ID_IN_TEXT = re.compile(r"^\s*\[([A-Za-z0-9][A-Za-z0-9_.\-]*)\]")
NS_STEP = re.compile(r"\*:([A-Za-z0-9_.\-]+)\[namespace-uri\(\)='[^']*'\]")


@dataclass
class Finding:
    severity: str  # "fatal" | "warning" | "info"
    source: str  # XSD, EN16931-UBL, PEPPOL, FACTURX-<LEVEL>, EN16931-CII, PDF, INPUT
    rule: str  # rule id, e.g. BR-CO-16, PEPPOL-EN16931-R003, XSD
    message: str
    location: str = ""


@dataclass
class Report:
    path: str
    kind: str = "unknown"  # ubl-invoice, ubl-creditnote, cii, facturx-pdf
    level: str = ""
    checks: list = field(default_factory=list)
    findings: list = field(default_factory=list)

    @property
    def fatal(self) -> int:
        return sum(1 for f in self.findings if f.severity == "fatal")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")


class Engine:
    """Caches compiled XSD schemas and XSLT executables."""

    def __init__(self, validators: Path):
        self.validators = validators
        self._schemas: dict = {}
        self._xslt: dict = {}
        self._proc = None

    def path(self, rel: str) -> Path:
        p = self.validators / rel
        if not p.is_file():
            raise FileNotFoundError(f"validator artefact missing: {p}")
        return p

    def xsd(self, rel: str, doc) -> list:
        if rel not in self._schemas:
            self._schemas[rel] = etree.XMLSchema(etree.parse(str(self.path(rel))))
        schema = self._schemas[rel]
        if schema.validate(doc):
            return []
        return [Finding("fatal", "XSD", "XSD", e.message, f"line {e.line}") for e in schema.error_log]

    def _processor(self):
        if self._proc is None:
            from saxonche import PySaxonProcessor

            self._proc = PySaxonProcessor(license=False)
        return self._proc

    def schematron(self, rel: str, source: str, xml_file: Path) -> list:
        """Run a compiled schematron (XSLT -> SVRL) and turn the SVRL into findings."""
        proc = self._processor()
        if rel not in self._xslt:
            # Compile from the file so that relative document() calls (the
            # Factur-X code lists) resolve next to the stylesheet.
            xp = proc.new_xslt30_processor()
            self._xslt[rel] = xp.compile_stylesheet(stylesheet_file=str(self.path(rel)))
        svrl = self._xslt[rel].transform_to_string(source_file=str(xml_file))
        if not svrl:
            return [Finding("fatal", source, "ENGINE", f"no SVRL output from {rel}")]
        root = etree.fromstring(svrl.encode("utf-8"))
        out = []
        for el in root.iter(f"{{{NS_SVRL}}}failed-assert", f"{{{NS_SVRL}}}successful-report"):
            text = " ".join((el.findtext(f"{{{NS_SVRL}}}text") or "").split())
            flag = (el.get("flag") or "").lower()
            if flag in ("warning", "warn"):
                severity = "warning"
            elif flag in ("information", "info"):
                severity = "info"
            else:
                # fatal, error, or no flag at all (the Factur-X schematrons flag
                # nothing and use successful-report for "not allowed in profile").
                severity = "fatal"
            rule = el.get("id") or ""
            if not rule:
                m = RULE_ID_IN_TEXT.match(text)
                rule = m.group(1) if m else "(no id)"
            location = NS_STEP.sub(r"\1", el.get("location") or "")
            out.append(Finding(severity, source, rule, text, location))
        return out


def _parse_xml(data: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.parse(io.BytesIO(data), parser)


def cii_level(doc) -> str:
    ids = doc.xpath(
        "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/"
        "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()",
        namespaces={"rsm": NS_RSM, "ram": NS_RAM},
    )
    gid = (ids[0] if ids else "").strip().lower()
    if "extended" in gid:
        return "extended"
    if "basicwl" in gid or "basic-wl" in gid:
        return "basicwl"
    if "basic" in gid:
        return "basic"
    if "minimum" in gid:
        return "minimum"
    if gid.startswith("urn:cen.eu:en16931:2017") or "comfort" in gid or "xrechnung" in gid:
        return "en16931"
    return ""


def check_ubl(engine: Engine, report: Report, doc, xml_file: Path, peppol: bool) -> None:
    name = etree.QName(doc.getroot()).localname
    report.kind = "ubl-invoice" if name == "Invoice" else "ubl-creditnote"
    report.checks.append("UBL 2.1 XSD")
    report.findings += engine.xsd(UBL_XSD[name], doc)
    report.checks.append("EN16931 UBL schematron")
    report.findings += engine.schematron(CEN_UBL_XSLT, "EN16931-UBL", xml_file)
    if peppol:
        report.checks.append("Peppol BIS 3.0 schematron")
        report.findings += engine.schematron(PEPPOL_UBL_XSLT, "PEPPOL", xml_file)


def check_cii(engine: Engine, report: Report, doc, xml_file: Path, level: str, cen: bool) -> None:
    if report.kind == "unknown":
        report.kind = "cii"
    level = level or cii_level(doc)
    if level not in FACTURX:
        report.findings.append(
            Finding(
                "fatal",
                "INPUT",
                "PROFILE",
                "cannot tell the Factur-X/ZUGFeRD profile from GuidelineSpecifiedDocumentContextParameter/ID; "
                "pass --level",
            )
        )
        return
    report.level = level
    xsd, xslt, run_cen = FACTURX[level]
    report.checks.append(f"Factur-X {level} XSD")
    report.findings += engine.xsd(xsd, doc)
    report.checks.append(f"Factur-X {level} schematron")
    report.findings += engine.schematron(xslt, f"FACTURX-{level.upper()}", xml_file)
    if cen and run_cen:
        report.checks.append("EN16931 CII schematron")
        report.findings += engine.schematron(CEN_CII_XSLT, "EN16931-CII", xml_file)


def _xmp_fields(xmp: bytes) -> dict:
    """Collect pdfaid and Factur-X/ZUGFeRD extension values from XMP, whatever their
    prefix: values may sit in attributes or in child elements of rdf:Description."""
    found: dict = {}
    root = _parse_xml(xmp).getroot()
    for desc in root.iter(f"{{{NS_RDF}}}Description"):
        items = [(etree.QName(k), v) for k, v in desc.attrib.items()]
        items += [(etree.QName(c), (c.text or "").strip()) for c in desc if isinstance(c.tag, str)]
        for q, v in items:
            if q.namespace == NS_PDFAID:
                found[f"pdfaid:{q.localname}"] = v
            elif q.namespace and ("CrossIndustryDocument" in q.namespace):
                found[f"fx:{q.localname}"] = v
                found["fx:namespace"] = q.namespace
    return found


def check_pdf(engine: Engine, report: Report, pdf_path: Path, level: str, cen: bool) -> None:
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject

    report.kind = "facturx-pdf"
    report.checks.append("PDF container (embedded XML, /AF, XMP)")
    reader = PdfReader(str(pdf_path))
    root = reader.trailer["/Root"]

    # 1. embedded XML
    attachments = reader.attachments
    name = next((n for n in EMBEDDED_NAMES if n in attachments), None)
    if name is None:
        report.findings.append(
            Finding(
                "fatal",
                "PDF",
                "PDF-EMBEDDED-XML",
                f"no embedded {' / '.join(EMBEDDED_NAMES)} (attachments: {sorted(attachments) or 'none'})",
            )
        )
        return
    xml_bytes = attachments[name][0]

    # 2. the file specification must be in the catalog's /AF array with an
    #    /AFRelationship (PDF/A-3 requirement for associated files).
    af = root.get("/AF")
    af = af.get_object() if isinstance(af, IndirectObject) else af
    filespec = None
    for ref in af or []:
        fs = ref.get_object()
        if fs.get("/F") == name or fs.get("/UF") == name:
            filespec = fs
    if filespec is None:
        report.findings.append(
            Finding("fatal", "PDF", "PDF-AF", f"{name} is not listed in the document catalog /AF array")
        )
    else:
        rel = str(filespec.get("/AFRelationship", ""))
        if rel not in ("/Data", "/Source", "/Alternative"):
            report.findings.append(
                Finding(
                    "fatal",
                    "PDF",
                    "PDF-AFRELATIONSHIP",
                    f"/AFRelationship of {name} is {rel or 'missing'}; expected /Data, /Source or /Alternative",
                )
            )
        ef = filespec.get("/EF", {})
        ef = ef.get_object() if isinstance(ef, IndirectObject) else ef
        stream = ef.get("/F").get_object() if ef and ef.get("/F") is not None else None
        subtype = str(stream.get("/Subtype", "")) if stream is not None else ""
        if subtype not in ("/text#2Fxml", "/text/xml"):
            report.findings.append(
                Finding(
                    "warning",
                    "PDF",
                    "PDF-MIMETYPE",
                    f"embedded file /Subtype is {subtype or 'missing'}; expected text/xml",
                )
            )

    # 3. XMP metadata: PDF/A-3 identification and Factur-X extension schema
    meta = root.get("/Metadata")
    fields: dict = {}
    if meta is None:
        report.findings.append(Finding("fatal", "PDF", "PDF-XMP", "no XMP metadata stream in the catalog"))
    else:
        try:
            fields = _xmp_fields(meta.get_object().get_data())
        except etree.XMLSyntaxError as exc:
            report.findings.append(Finding("fatal", "PDF", "PDF-XMP", f"XMP metadata is not well-formed: {exc}"))
    if meta is not None:
        if fields.get("pdfaid:part") != "3":
            report.findings.append(
                Finding(
                    "fatal",
                    "PDF",
                    "PDF-PDFAID",
                    f"XMP pdfaid:part is {fields.get('pdfaid:part') or 'missing'}; Factur-X requires PDF/A-3",
                )
            )
        if fields.get("pdfaid:conformance", "").upper() not in ("A", "B", "U"):
            report.findings.append(
                Finding(
                    "fatal",
                    "PDF",
                    "PDF-PDFAID",
                    f"XMP pdfaid:conformance is {fields.get('pdfaid:conformance') or 'missing'}; expected A, B or U",
                )
            )
        if "fx:ConformanceLevel" not in fields:
            report.findings.append(
                Finding("fatal", "PDF", "PDF-XMP-FX", "XMP has no Factur-X/ZUGFeRD extension (fx:ConformanceLevel)")
            )
        if fields.get("fx:DocumentFileName") and fields["fx:DocumentFileName"] != name:
            report.findings.append(
                Finding(
                    "fatal",
                    "PDF",
                    "PDF-XMP-FX",
                    f"XMP fx:DocumentFileName is {fields['fx:DocumentFileName']} but the attachment is {name}",
                )
            )
        if fields.get("fx:DocumentType") and fields["fx:DocumentType"].upper() != "INVOICE":
            report.findings.append(
                Finding("warning", "PDF", "PDF-XMP-FX", f"XMP fx:DocumentType is {fields['fx:DocumentType']}")
            )
    report.findings.append(
        Finding(
            "info",
            "PDF",
            "PDF-A-NOT-VERIFIED",
            "PDF/A-3 conformance of the PDF itself is not verified here (only its XMP claims); use veraPDF for that",
        )
    )

    # 4. the embedded XML
    with tempfile.TemporaryDirectory() as tmp:
        xml_file = Path(tmp) / name
        xml_file.write_bytes(xml_bytes)
        try:
            doc = _parse_xml(xml_bytes)
        except etree.XMLSyntaxError as exc:
            report.findings.append(Finding("fatal", "INPUT", "XML", f"embedded {name} is not well-formed: {exc}"))
            return
        if etree.QName(doc.getroot()).namespace != NS_RSM:
            report.findings.append(
                Finding("fatal", "INPUT", "XML", f"embedded {name} is not a CII CrossIndustryInvoice")
            )
            return
        xml_level = level or cii_level(doc)
        xmp_level = fields.get("fx:ConformanceLevel", "")
        if xmp_level and xml_level in XMP_LEVEL and xmp_level.upper() != XMP_LEVEL[xml_level]:
            report.findings.append(
                Finding(
                    "fatal",
                    "PDF",
                    "PDF-XMP-LEVEL",
                    f"XMP fx:ConformanceLevel is '{xmp_level}' but the embedded XML is profile "
                    f"'{XMP_LEVEL[xml_level]}'",
                )
            )
        check_cii(engine, report, doc, xml_file, level, cen)


def validate(engine: Engine, path: Path, peppol: bool = True, cen: bool = True, level: str = "") -> Report:
    report = Report(str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.findings.append(Finding("fatal", "INPUT", "IO", str(exc)))
        return report
    if data[:1024].lstrip().startswith(b"%PDF") or data.startswith(b"%PDF"):
        check_pdf(engine, report, path, level, cen)
        return report
    try:
        doc = _parse_xml(data)
    except etree.XMLSyntaxError as exc:
        report.findings.append(Finding("fatal", "INPUT", "XML", f"not well-formed XML: {exc}"))
        return report
    ns = etree.QName(doc.getroot()).namespace
    if ns in (NS_UBL_INVOICE, NS_UBL_CREDITNOTE):
        check_ubl(engine, report, doc, path.resolve(), peppol)
    elif ns == NS_RSM:
        check_cii(engine, report, doc, path.resolve(), level, cen)
    else:
        report.findings.append(Finding("fatal", "INPUT", "ROOT", f"unsupported root element {doc.getroot().tag}"))
    return report


def print_report(report: Report, quiet: bool = False) -> None:
    head = f"{report.path}: {report.kind}" + (f" ({report.level})" if report.level else "")
    print(head)
    if report.checks:
        print("  checks: " + "; ".join(report.checks))
    seen = set()
    for f in report.findings:
        if quiet and f.severity != "fatal":
            continue
        key = (f.severity, f.source, f.rule, f.location, f.message)
        if key in seen:
            continue
        seen.add(key)
        loc = f" @ {f.location}" if f.location else ""
        print(f"  {f.severity.upper():7s} [{f.rule}] ({f.source}){loc}: {f.message}")
    verdict = "FAIL" if report.fatal else "OK"
    print(f"  => {verdict}: {report.fatal} fatal, {report.warnings} warning(s)")


# ---------------------------------------------------------------------------
# Self-test: official examples must pass; deliberately broken copies must fail.
# ---------------------------------------------------------------------------
UBL_VALID = [
    "testdata/ubl/peppol-bis-3/examples/base-example.xml",
    "testdata/ubl/peppol-bis-3/examples/base-creditnote-correction.xml",
]
CII_VALID = "testdata/facturx/akretion-factur-x/xml/factur-x-en16931.xml"
PDF_VALID = "testdata/facturx/akretion-factur-x/pdf/invoice_EN16931.pdf"


def _ubl_break_payable(doc):
    el = doc.find(f".//{{{NS_CAC}}}LegalMonetaryTotal/{{{NS_CBC}}}PayableAmount")
    el.text = str(float(el.text) + 100)


def _ubl_break_buyer_reference(doc):
    el = doc.find(f"{{{NS_CBC}}}BuyerReference")
    el.getparent().remove(el)


def _ubl_break_xsd(doc):
    el = doc.find(f"{{{NS_CBC}}}IssueDate")
    bogus = etree.Element(f"{{{NS_CBC}}}NotAUblElement")
    bogus.text = "x"
    el.addnext(bogus)


def _cii_break_due_amount(doc):
    el = doc.find(f".//{{{NS_RAM}}}SpecifiedTradeSettlementHeaderMonetarySummation/{{{NS_RAM}}}DuePayableAmount")
    el.text = str(float(el.text) + 100)


def selftest(engine: Engine) -> int:
    failures = 0

    def expect(label: str, report: Report, want_fatal: bool, want_rule: str = "") -> None:
        nonlocal failures
        rules = sorted({f.rule for f in report.findings if f.severity == "fatal"})
        ok = (report.fatal > 0) == want_fatal and (not want_rule or want_rule in rules)
        failures += 0 if ok else 1
        print(
            f"{'PASS' if ok else 'FAIL'}  {label}: fatal={report.fatal} rules={rules[:6]}"
            + (f" (expected {want_rule})" if want_rule else "")
        )

    for rel in UBL_VALID + [CII_VALID, PDF_VALID]:
        expect(f"valid {rel}", validate(engine, HERE / rel), want_fatal=False)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = etree.parse(str(HERE / UBL_VALID[0]))
        for name, mutate, rule in [
            ("ubl-payable-amount", _ubl_break_payable, "BR-CO-16"),
            ("ubl-no-buyer-reference", _ubl_break_buyer_reference, "PEPPOL-EN16931-R003"),
            ("ubl-unknown-element", _ubl_break_xsd, "XSD"),
        ]:
            doc = copy.deepcopy(base)
            mutate(doc)
            out = tmp / f"{name}.xml"
            doc.write(str(out), xml_declaration=True, encoding="UTF-8")
            expect(f"broken {name}", validate(engine, out), want_fatal=True, want_rule=rule)

        cii = etree.parse(str(HERE / CII_VALID))
        _cii_break_due_amount(cii)
        broken_xml = etree.tostring(cii, xml_declaration=True, encoding="UTF-8")
        out = tmp / "cii-due-amount.xml"
        out.write_bytes(broken_xml)
        expect("broken cii-due-amount", validate(engine, out), want_fatal=True, want_rule="BR-CO-16")

        # Re-embed the broken XML into the official PDF with the factur-x library.
        try:
            from facturx import generate_from_binary, get_facturx_xml_from_pdf
        except ImportError:
            print("SKIP  PDF mutations: factur-x not installed")
        else:
            pdf_bytes = (HERE / PDF_VALID).read_bytes()
            _, good_xml = get_facturx_xml_from_pdf(io.BytesIO(pdf_bytes), check_xsd=False)
            good = etree.fromstring(good_xml)
            bad = copy.deepcopy(good)
            _cii_break_due_amount(etree.ElementTree(bad))
            out = tmp / "pdf-due-amount.pdf"
            out.write_bytes(
                generate_from_binary(
                    pdf_bytes, etree.tostring(bad, xml_declaration=True, encoding="UTF-8"), check_xsd=False
                )
            )
            expect("broken pdf-due-amount", validate(engine, out), want_fatal=True, want_rule="BR-CO-16")
            out = tmp / "pdf-xmp-level.pdf"
            out.write_bytes(
                generate_from_binary(
                    pdf_bytes,
                    etree.tostring(good, xml_declaration=True, encoding="UTF-8"),
                    level="basic",
                    check_xsd=False,
                )
            )
            expect("broken pdf-xmp-level", validate(engine, out), want_fatal=True, want_rule="PDF-XMP-LEVEL")
            from pypdf import PdfWriter

            writer = PdfWriter()
            writer.add_blank_page(width=595, height=842)
            out = tmp / "pdf-no-xml.pdf"
            with open(out, "wb") as fh:
                writer.write(fh)
            expect("broken pdf-no-xml", validate(engine, out), want_fatal=True, want_rule="PDF-EMBEDDED-XML")

    print(f"selftest: {'OK' if not failures else f'{failures} failure(s)'}")
    return 1 if failures else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, help="UBL XML, CII XML or Factur-X PDF files")
    ap.add_argument(
        "--validators",
        type=Path,
        default=Path(os.environ.get("EINVOICE_VALIDATORS", DEFAULT_VALIDATORS)),
        help="directory holding the artefacts (default: validators/ next to this script)",
    )
    ap.add_argument("--no-peppol", action="store_true", help="UBL: skip the Peppol BIS 3.0 schematron")
    ap.add_argument("--no-cen", action="store_true", help="CII: skip the CEN EN16931 CII schematron")
    ap.add_argument(
        "--level",
        choices=sorted(FACTURX),
        default="",
        help="CII: force the Factur-X profile instead of reading it from the XML",
    )
    ap.add_argument("--quiet", action="store_true", help="print fatal findings only")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    ap.add_argument("--selftest", action="store_true", help="check that official examples pass and mutated copies fail")
    args = ap.parse_args(argv)

    engine = Engine(args.validators)
    if args.selftest:
        return selftest(engine)
    if not args.paths:
        ap.error("give at least one file, or --selftest")
    reports = []
    try:
        for p in args.paths:
            reports.append(validate(engine, p, peppol=not args.no_peppol, cen=not args.no_cen, level=args.level))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # saxonche raises PySaxonApiError on engine failures
        print(f"error: validation engine failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **{k: v for k, v in asdict(r).items() if k != "findings"},
                        "fatal": r.fatal,
                        "warnings": r.warnings,
                        "findings": [asdict(f) for f in r.findings],
                    }
                    for r in reports
                ],
                indent=2,
            )
        )
    else:
        for r in reports:
            print_report(r, quiet=args.quiet)
    return 1 if any(r.fatal for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
