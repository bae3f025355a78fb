"""A minimal, valid one-page PDF: a title and lines of text in Helvetica, nothing else.

What the print endpoints answer. The live API renders the company's real layout; clients only store or
forward the bytes, so a small well-formed PDF that names the document is a faithful stand-in. Built by
hand (catalog, page tree, page, font, content stream, info, cross-reference table) so the sandbox needs
no PDF library; text is WinAnsi (cp1252) encoded, so Nordic letters print.
"""

from __future__ import annotations

from collections.abc import Sequence

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
TITLE_SIZE, TEXT_SIZE, LEADING = 16, 10, 14
MAX_LINES = (PAGE_HEIGHT - 2 * MARGIN) // LEADING - 2


def _text(value: str) -> bytes:
    """A PDF literal string: cp1252 bytes with the three special characters escaped."""
    raw = value.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _content(title: str, lines: Sequence[str]) -> bytes:
    top = PAGE_HEIGHT - MARGIN
    parts = [b"BT", f"/F1 {TITLE_SIZE} Tf {MARGIN} {top} Td".encode(), _text(title) + b" Tj"]
    parts.append(f"/F1 {TEXT_SIZE} Tf 0 -{2 * LEADING} Td {LEADING} TL".encode())
    parts += [_text(line) + b" Tj T*" for line in list(lines)[:MAX_LINES]]
    parts.append(b"ET")
    return b"\n".join(parts)


def pdf_document(title: str, lines: Sequence[str]) -> bytes:
    """The PDF's bytes; ``title`` is printed on top and set as the document's /Title."""
    content = _content(title, lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % (PAGE_WIDTH, PAGE_HEIGHT)
        + b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Title " + _text(title) + b" /Producer (eaccounting-sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
