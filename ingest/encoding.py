"""Decoding of text files of unknown encoding (UTF-8 with or without BOM, GBK/GB18030, Big5)."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from kb.errors import DocumentError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CJK_CANDIDATES = ["gb18030", "big5"]


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) * 0.05


def _cjk_score(text: str) -> float:
    """Share of characters in the common CJK block, penalising private-use and rare ranges."""
    if not text:
        return 0.0
    common = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fa5")
    odd = sum(1 for ch in text if "\ue000" <= ch <= "\uf8ff" or "\u3400" <= ch <= "\u4dbf")
    return (common - 5 * odd) / len(text)


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a text file; a clear DocumentError if it is binary or undecodable."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    if _looks_binary(data):
        raise DocumentError(f"{name}：看起来是二进制文件，不是文本")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = []
    for encoding in _CJK_CANDIDATES:
        try:
            decoded.append((_cjk_score(data.decode(encoding)), encoding))
        except UnicodeDecodeError:
            continue
    if decoded:
        encoding = max(decoded)[1]
        return data.decode(encoding), encoding
    guess = from_bytes(data).best()
    if guess is None:
        raise DocumentError(f"{name}：无法识别文本编码，请另存为 UTF-8 后重试")
    return str(guess), guess.encoding
