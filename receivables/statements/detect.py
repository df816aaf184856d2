import io
import zipfile

from .bai import parse_bai2
from .camt import parse_camt
from .common import MAX_FILE_BYTES, ParsedStatement, StatementFileError
from .csvfile import parse_csv
from .swift import parse_mt940

MAX_ZIP_MEMBERS = 50


def detect_format(data: bytes, name: str = "") -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if head.startswith(b"<"):
        return "camt053"
    if head.startswith(b"01,"):
        return "bai2"
    text = head.decode("latin-1")
    if ":20:" in text and (":25:" in text or ":60F:" in text or ":61:" in text):
        return "mt940"
    if name.lower().endswith((".940", ".sta", ".swi", ".mt940")):
        return "mt940"
    return "csv"


def parse_file(data: bytes, name: str = "", *, csv_mapping=None, default_currency: str = "EUR"):
    """(format, statements) of a statement file; StatementFileError when it cannot be imported."""
    if len(data) > MAX_FILE_BYTES:
        raise StatementFileError("file", f"is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if not data.strip():
        raise StatementFileError("file", "is empty")
    kind = detect_format(data, name)
    if kind == "zip":
        return "camt053", _parse_zip(data)
    if kind == "camt053":
        return kind, parse_camt(data)
    if kind == "bai2":
        return kind, parse_bai2(data)
    if kind == "mt940":
        return kind, parse_mt940(data)
    if csv_mapping is None:
        raise StatementFileError(
            "file", "is neither camt.053 XML, MT940 nor BAI2; a CSV needs the bank account's column mapping"
        )
    return kind, parse_csv(data, csv_mapping, default_currency=default_currency)


def _parse_zip(data: bytes) -> list[ParsedStatement]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise StatementFileError("zip", f"not a readable ZIP ({error})") from None
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) > MAX_ZIP_MEMBERS:
        raise StatementFileError("zip", f"holds {len(members)} files; the limit is {MAX_ZIP_MEMBERS}")
    statements = []
    for info in members:
        if info.file_size > MAX_FILE_BYTES:
            raise StatementFileError(f"zip member {info.filename}", "is too large once unpacked")
        content = archive.read(info)
        if detect_format(content, info.filename) != "camt053":
            raise StatementFileError(f"zip member {info.filename}", "is not a camt.053 XML file")
        try:
            statements.extend(parse_camt(content))
        except StatementFileError as error:
            raise StatementFileError(f"zip member {info.filename}, {error.where}", error.reason) from None
    return statements
