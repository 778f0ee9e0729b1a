"""What a spreadsheet file really is, from its first bytes, whatever its extension says.

People rename files: an ``.xlsx`` saved as ``…csv``, an old ``.xls`` renamed ``.xlsx`` to please an upload form.
The first bytes decide: a zip archive (``PK``) is an Office Open XML workbook (``.xlsx``), an OLE2 compound file
(``D0 CF 11 E0``) a legacy BIFF workbook (``.xls``) — unless it holds an ``EncryptedPackage`` stream, which is how
Excel and WPS store a password-protected ``.xlsx`` — and anything else is text (CSV, or an HTML table some web
platforms save as ``.xls``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pipeline.errors import DataError, Location

Kind = Literal["xlsx", "xls", "text"]

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip archive's first bytes (a local file header, or the end record of an empty archive)."""
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
"""The directory entry name of the encrypted workbook inside an OLE2 container (names are UTF-16LE)."""
SUFFIX_OF = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",), "text": (".csv", ".xls")}
"""The extensions that tell the truth about each kind (an HTML table saved as ``.xls`` is text)."""


def sniff(path: Path) -> Kind:
    """The kind of ``path`` from its first eight bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(f"无法读取文件 (cannot read file): {exc.strerror}", Location(file=path.name)) from exc
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head == OLE2_MAGIC:
        return "xls"
    return "text"


def extension_agrees(path: Path, kind: Kind) -> bool:
    return path.suffix.lower() in SUFFIX_OF[kind]


def is_encrypted(path: Path) -> bool:
    """Whether an OLE2 file holds an ``EncryptedPackage`` stream (a password-protected ``.xlsx``).

    The directory entry may sit anywhere in the file, so the file is searched in blocks (overlapping by the name's
    length); such files are as small as the workbooks they protect."""
    block, keep = 1 << 20, len(ENCRYPTED_STREAM)
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            if ENCRYPTED_STREAM in tail + chunk:
                return True
            tail = chunk[-keep:]
    return False


def password_error(path: Path) -> DataError:
    return DataError(
        "工作簿设有打开密码，无法读取 (the workbook is password-protected): 请在 Excel/WPS 中打开，"
        "文件 → 信息 → 保护工作簿 → 删除密码后另存为 .xlsx (remove the password and save again)",
        Location(file=path.name),
    )


def wrong_extension_message(path: Path, kind: Kind) -> str:
    real = {"xlsx": ".xlsx (Excel 2007+)", "xls": ".xls (Excel 97–2003)", "text": ".csv (文本)"}[kind]
    return (
        f"文件扩展名 '{path.suffix}' 与内容不符，按 {real} 读取 (the file's extension is wrong; read by its content "
        f"as {real}); 建议改正扩展名 (rename the file)"
    )
