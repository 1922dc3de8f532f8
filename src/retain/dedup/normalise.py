"""Normalise names, phones and emails so that spellings of one company or person meet.

"(北京)某科技有限公司", "某科技" and "ＡＢＣ Co., Ltd." become "某" and "abc": full-width
to half-width (NFKC), lower case, city prefixes and bracketed notes dropped, legal
suffixes (有限公司, 集团, 股份, Ltd, Inc …) and the trade words before them (科技, 贸易 …)
stripped from the end.
"""

from __future__ import annotations

import re
import unicodedata

from retain.imports.values import normalise_phone

CITIES = (
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "苏州", "宁波", "武汉",
    "长沙", "郑州", "成都", "昆明", "西安", "兰州", "沈阳", "大连", "哈尔滨", "石家庄", "佛山",
    "厦门", "青岛", "济南", "福州", "合肥", "南昌", "无锡", "东莞", "香港", "澳门", "台湾",
)  # fmt: skip
_CITY_PREFIX = re.compile(rf"^(?:{'|'.join(CITIES)})(?:市)?")
_BRACKETS = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")
LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团公司", "集团", "公司",
    "股份", "分公司", "co.,ltd.", "co.,ltd", "co.ltd", "coltd", "ltd.", "ltd", "limited",
    "inc.", "inc", "llc", "corp.", "corp", "corporation", "company", "co.", "group", "plc",
)  # fmt: skip
TRADE_WORDS = (
    "信息技术", "科技", "技术", "贸易", "实业", "网络", "制造", "传媒", "信息", "计算机",
    "电子", "商贸", "发展", "控股", "国际",
)  # fmt: skip
_PUNCT = re.compile(r"[\s,.·&'\"\-_/]+")


def company_core(name: str) -> str:
    """The distinctive part of a company name: "(北京)某科技有限公司" → "某"."""
    text = unicodedata.normalize("NFKC", name or "").lower().strip()
    text = _BRACKETS.sub("", text)
    text = _CITY_PREFIX.sub("", text)
    text = _PUNCT.sub("", text)
    changed = True
    while changed and text:
        changed = False
        for suffix in (*(_PUNCT.sub("", s) for s in LEGAL_SUFFIXES), *TRADE_WORDS):
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
    return text


def company_full(name: str) -> str:
    """A company name without city, notes and legal form, trade words kept:
    "(北京)某科技有限公司" → "某科技"."""
    text = unicodedata.normalize("NFKC", name or "").lower().strip()
    text = _PUNCT.sub("", _CITY_PREFIX.sub("", _BRACKETS.sub("", text)))
    changed = True
    while changed and text:
        changed = False
        for suffix in (_PUNCT.sub("", s) for s in LEGAL_SUFFIXES):
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
    return text


def person_core(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").lower()
    return _PUNCT.sub("", _BRACKETS.sub("", text))


def email_key(email: str) -> str:
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def phone_key(phone: str) -> str:
    digits = normalise_phone(phone)
    return digits if len(digits) >= 7 else ""
