"""ISO 20022 camt.053 (bank-to-customer statement), versions .001.02 to .001.08 and later:
one namespace-agnostic code path, parsed with defusedxml (no DTD, so no entity expansion and
no network). Batch bookings are split into their transactions."""

from decimal import Decimal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .common import ParsedLine, ParsedStatement, StatementFileError, compact_iban, money, parse_date


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str):
    return [child for child in element if _local(child.tag) == name]


def _find(element, path: str):
    """The first element down a path of local names ("Refs/AcctSvcrRef"), or None."""
    current = [element]
    for name in path.split("/"):
        current = [child for node in current for child in _children(node, name)]
        if not current:
            return None
    return current[0]


def _first(element, *paths):
    """The first path that exists (elements without children are falsy, so no `or`)."""
    for path in paths:
        found = _find(element, path)
        if found is not None:
            return found
    return None


def _all(element, path: str):
    current = [element]
    for name in path.split("/"):
        current = [child for node in current for child in _children(node, name)]
    return current


def _text(element, path: str) -> str:
    found = _find(element, path) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _date(element, path: str, where: str):
    node = _find(element, path)
    if node is None:
        return None
    text = _text(node, "Dt") or _text(node, "DtTm")
    return parse_date(text, f"{where} {path}") if text else None


def parse_xml(data: bytes):
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise StatementFileError(
            "XML", f"refused: the file declares a DTD or entities ({type(error).__name__})"
        ) from None
    except ParseError as error:
        line, column = error.position
        raise StatementFileError(
            f"XML line {line}, column {column}",
            f"not well-formed XML ({error.msg if hasattr(error, 'msg') else error})",
        ) from None


def parse_camt(data: bytes) -> list[ParsedStatement]:
    root = parse_xml(data)
    if _local(root.tag) != "Document":
        raise StatementFileError(f"<{_local(root.tag)}>", "not an ISO 20022 Document")
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    message = next(iter(root), None)
    if message is None:
        raise StatementFileError("Document", "is empty")
    kind = _local(message.tag)
    if kind == "BkToCstmrAcctRpt":
        raise StatementFileError(
            "BkToCstmrAcctRpt", "this is a camt.052 intraday account report, not a statement; import the camt.053"
        )
    if kind == "BkToCstmrDbtCdtNtfctn":
        raise StatementFileError(
            "BkToCstmrDbtCdtNtfctn",
            "this is a camt.054 debit/credit notification, not a statement; import the camt.053",
        )
    if kind != "BkToCstmrStmt":
        raise StatementFileError(kind, f"not a camt.053 bank-to-customer statement ({namespace or 'no namespace'})")
    statements = _children(message, "Stmt")
    if not statements:
        raise StatementFileError("BkToCstmrStmt", "holds no Stmt")
    return [_statement(stmt, index) for index, stmt in enumerate(statements, start=1)]


def _balance(stmt, codes: tuple[str, ...], where: str):
    for balance in _children(stmt, "Bal"):
        code = _text(balance, "Tp/CdOrPrtry/Cd") or _text(balance, "Tp/CdOrPrtry/Prtry")
        if code in codes:
            amount_node = _find(balance, "Amt")
            currency = amount_node.get("Ccy", "") if amount_node is not None else ""
            value = money(amount_node.text if amount_node is not None else "", currency, f"{where} Bal {code} Amt")
            if _text(balance, "CdtDbtInd") == "DBIT":
                value = -value
            return value, currency, _date(balance, "Dt", where)
    return None, "", None


def _statement(stmt, index: int) -> ParsedStatement:
    statement_id = _text(stmt, "Id")
    where = f"Stmt {index}" + (f" ({statement_id})" if statement_id else "")
    account = compact_iban(_text(stmt, "Acct/Id/IBAN")) or _text(stmt, "Acct/Id/Othr/Id")
    opening, opening_currency, opening_date = _balance(stmt, ("OPBD", "PRCD"), where)
    closing, closing_currency, closing_date = _balance(stmt, ("CLBD",), where)
    currency = _text(stmt, "Acct/Ccy") or opening_currency or closing_currency
    lines = []
    for number, entry in enumerate(_children(stmt, "Ntry"), start=1):
        lines.extend(_entry_lines(entry, f"{where} Ntry {number}", currency))
    if not currency and lines:
        currency = lines[0].currency
    from_text = _text(stmt, "FrToDt/FrDtTm")
    to_text = _text(stmt, "FrToDt/ToDtTm")
    from_date = parse_date(from_text, f"{where} FrDtTm") if from_text else opening_date
    to_date = parse_date(to_text, f"{where} ToDtTm") if to_text else closing_date
    if lines:
        from_date = from_date or min(line.booking_date for line in lines)
        to_date = to_date or max(line.booking_date for line in lines)
    key_parts = [statement_id, _text(stmt, "ElctrncSeqNb"), _text(stmt, "LglSeqNb")]
    return ParsedStatement(
        where=where,
        account=account,
        currency=currency or "EUR",
        statement_id="/".join(part for part in key_parts if part),
        from_date=from_date,
        to_date=to_date,
        opening_balance=opening,
        closing_balance=closing,
        lines=lines,
    )


def _signed(node_amount, indicator: str, where: str, fallback_currency: str):
    if node_amount is None:
        raise StatementFileError(where, "has no Amt")
    currency = node_amount.get("Ccy", "") or fallback_currency
    value = money(node_amount.text or "", currency, f"{where} Amt")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementFileError(f"{where} CdtDbtInd", f"must be CRDT or DBIT, not {indicator!r}")
    return (value if indicator == "CRDT" else -value), currency


def _entry_lines(entry, where: str, fallback_currency: str) -> list[ParsedLine]:
    status = _text(entry, "Sts/Cd") or _text(entry, "Sts")
    if status and status != "BOOK":  # pending or information only: not on the statement's balance
        return []
    indicator = _text(entry, "CdtDbtInd")
    amount, currency = _signed(_find(entry, "Amt"), indicator, where, fallback_currency)
    reversal = _text(entry, "RvslInd").lower() == "true"
    booking_date = _date(entry, "BookgDt", where)
    value_date = _date(entry, "ValDt", where) or booking_date
    booking_date = booking_date or value_date
    if booking_date is None:
        raise StatementFileError(where, "has neither BookgDt nor ValDt")
    entry_reference = _text(entry, "AcctSvcrRef")
    code = "/".join(
        part
        for part in (
            _text(entry, "BkTxCd/Domn/Cd"),
            _text(entry, "BkTxCd/Domn/Fmly/Cd"),
            _text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd"),
        )
        if part
    ) or _text(entry, "BkTxCd/Prtry/Cd")
    entry_text = _text(entry, "AddtlNtryInf")
    transactions = _all(entry, "NtryDtls/TxDtls")
    if len(transactions) > 1:
        amounts = [_first(tx, "AmtDtls/TxAmt/Amt", "Amt") for tx in transactions]
        if any(node is None for node in amounts):  # a batch without amounts per transaction stays one line
            transactions = transactions[:1]
    lines = []
    for tx_number, tx in enumerate(transactions or [None], start=1):
        tx_where = f"{where} TxDtls {tx_number}" if len(transactions) > 1 else where
        line_amount = amount
        if len(transactions) > 1:
            node = _first(tx, "AmtDtls/TxAmt/Amt", "Amt")
            tx_indicator = _text(tx, "CdtDbtInd") or indicator
            line_amount, _ = _signed(node, tx_indicator, tx_where, currency)
        lines.append(
            _line(
                tx,
                tx_where,
                entry_reference,
                tx_number,
                len(transactions),
                booking_date,
                value_date,
                line_amount,
                currency,
                code,
                entry_text,
                reversal,
            )
        )
    if len(lines) > 1:
        total = sum((line.amount for line in lines), Decimal("0"))
        if total != amount:
            raise StatementFileError(where, f"the batch's transactions add up to {total}, the entry says {amount}")
    return lines


def _line(
    tx,
    where,
    entry_reference,
    tx_number,
    tx_count,
    booking_date,
    value_date,
    amount,
    currency,
    code,
    entry_text,
    reversal,
) -> ParsedLine:
    incoming = amount > 0
    reference = entry_reference
    names, iban, party_id, texts, structured, end_to_end, returned = [], "", "", [], "", "", False
    if tx is not None:
        reference = _text(tx, "Refs/AcctSvcrRef") or (
            f"{entry_reference}/{tx_number}" if entry_reference and tx_count > 1 else entry_reference
        )
        end_to_end = _text(tx, "Refs/EndToEndId")
        if end_to_end == "NOTPROVIDED":
            end_to_end = ""
        party = "Dbtr" if incoming else "Cdtr"
        for path in (
            f"RltdPties/{party}/Pty/Nm",
            f"RltdPties/{party}/Nm",
            f"RltdPties/Ultmt{party}/Pty/Nm",
            f"RltdPties/Ultmt{party}/Nm",
        ):
            name = _text(tx, path)
            if name and name not in names:
                names.append(name)
        iban = compact_iban(_text(tx, f"RltdPties/{party}Acct/Id/IBAN"))
        party_id = _text(tx, f"RltdPties/{party}/Pty/Id/OrgId/Othr/Id") or _text(
            tx, f"RltdPties/{party}/Id/OrgId/Othr/Id"
        )
        texts = [node.text.strip() for node in _all(tx, "RmtInf/Ustrd") if node.text and node.text.strip()]
        refs = [
            (node.text or "").strip() for node in _all(tx, "RmtInf/Strd/CdtrRefInf/Ref") if (node.text or "").strip()
        ]
        structured = refs[0] if refs else ""
        texts.extend(refs[1:] if len(refs) > 1 else [])
        texts.extend(
            (node.text or "").strip() for node in _all(tx, "RmtInf/Strd/RfrdDocInf/Nb") if (node.text or "").strip()
        )
        returned = _find(tx, "RtrInf") is not None
        if _text(tx, "AddtlTxInf"):
            texts.append(_text(tx, "AddtlTxInf"))
    if entry_text and not texts:
        texts.append(entry_text)
    return ParsedLine(
        where=where,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        currency=currency,
        bank_reference=reference[:120],
        counterparty_name=" / ".join(names)[:140],
        counterparty_iban=iban[:34],
        counterparty_id=party_id[:64],
        remittance=" ".join(texts),
        structured_reference=structured[:64],
        end_to_end_id=end_to_end[:64],
        transaction_code=code[:40],
        is_return=returned or reversal or code.endswith("/RRTN") or code.endswith("/UPDD"),
    )
