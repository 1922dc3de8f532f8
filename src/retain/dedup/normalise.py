"""Normalise names, phones and emails so that spellings of one company or person meet.

"(北京)某科技有限公司", "深圳市某科技有限公司", "某科技" and "ＡＢＣ Co., Ltd." become "某" and
"abc": full-width to half-width (NFKC), lower case, bracketed notes dropped, a region
prefix (北京, 深圳市, 广东省 …) dropped, legal forms (有限公司, 股份有限公司, 集团, Ltd, Inc …)
and the trade words before them (科技, 贸易, 计算机系统 …) stripped from the end.

Institutions keep their region: 北京大学 is not 大学 and 中国银行 is not 银行, so the region is
only dropped when what follows is not a school, hospital, bank or office. Person names are
also compared by pinyin (``person_pinyin``): 刘洋 and 刘阳 are both "liu yang", and 王芳 meets
"Wang Fang" and "Fang Wang".
"""

from __future__ import annotations

import re
import unicodedata

from retain.imports.values import normalise_phone

CITIES = (
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "苏州", "宁波", "武汉",
    "长沙", "郑州", "成都", "昆明", "西安", "兰州", "沈阳", "大连", "哈尔滨", "石家庄", "佛山",
    "厦门", "青岛", "济南", "福州", "合肥", "南昌", "无锡", "东莞", "香港", "澳门", "台湾",
    "珠海", "温州", "常州", "南通", "徐州", "烟台", "泉州", "贵阳", "南宁", "太原", "长春",
    "乌鲁木齐", "呼和浩特", "海口", "三亚", "中山", "惠州", "嘉兴", "绍兴", "金华", "台州",
)  # fmt: skip
PROVINCES = (
    "广东", "浙江", "江苏", "山东", "河北", "河南", "湖北", "湖南", "四川", "福建", "安徽",
    "江西", "辽宁", "吉林", "黑龙江", "陕西", "山西", "云南", "贵州", "广西", "海南", "甘肃",
    "青海", "内蒙古", "新疆", "西藏", "宁夏",
)  # fmt: skip
# "广东省深圳市", "深圳市", "北京", "浙江杭州" …: a province and/or a city, each with its word.
_PROVINCE = rf"(?:{'|'.join(PROVINCES)})(?:省|自治区|壮族自治区|回族自治区|维吾尔自治区)?"
_CITY = rf"(?:{'|'.join(CITIES)})(?:市)?"
_DISTRICT = r"(?:[\u4e00-\u9fff]{2,3}?(?:新区|区|县))?"
_REGION_PREFIX = re.compile(rf"^(?:{_PROVINCE}{_CITY}{_DISTRICT}|{_PROVINCE}|{_CITY}{_DISTRICT})")
#: Names with these words are institutions whose region is part of the name (北京大学).
INSTITUTION_WORDS = (
    "大学", "学院", "学校", "中学", "小学", "幼儿园", "医院", "卫生", "银行", "研究所",
    "研究院", "政府", "委员会", "局", "图书馆", "博物馆", "协会", "学会",
)  # fmt: skip
_BRACKETS = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")
LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "集团有限公司", "集团股份有限公司", "集团公司",
    "集团", "公司", "股份", "分公司", "总公司", "co.,ltd.", "co.,ltd", "co.ltd", "coltd", "ltd.",
    "ltd", "limited", "inc.", "inc", "llc", "corp.", "corp", "corporation", "company", "co.",
    "group", "plc", "gmbh",
)  # fmt: skip
TRADE_WORDS = (
    "信息技术", "科技", "技术", "贸易", "实业", "网络", "制造", "传媒", "信息", "计算机", "系统",
    "电子", "商贸", "发展", "控股", "国际", "软件", "通信", "咨询", "服务", "工程",
    "technology", "technologies", "tech", "trading", "holdings", "international",
)  # fmt: skip
_PUNCT = re.compile(r"[\s,.·&'\"\-_/]+")
_LEGAL = tuple(_PUNCT.sub("", s) for s in LEGAL_SUFFIXES)
_HAN = re.compile(r"[\u3400-\u9fff]")


def _strip_suffixes(text: str, suffixes: tuple[str, ...]) -> str:
    changed = True
    while changed and text:
        changed = False
        for suffix in suffixes:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
    return text


def _base(name: str) -> str:
    """Half-width, lower case, brackets, region and punctuation dropped, legal form kept."""
    text = unicodedata.normalize("NFKC", name or "").lower().strip()
    text = _BRACKETS.sub("", text)
    text = _PUNCT.sub("", text)
    region = _REGION_PREFIX.match(text)
    if region and region.end() < len(text):
        rest = text[region.end() :]
        # 北京大学, 深圳市人民医院: the region is part of an institution's name.
        if (
            not any(word in text for word in INSTITUTION_WORDS)
            and len(_strip_suffixes(rest, (*_LEGAL, *TRADE_WORDS))) >= 1
        ):
            text = rest
    return text


def company_core(name: str) -> str:
    """The distinctive part of a company name: "(北京)某科技有限公司" → "某",
    "深圳市腾讯计算机系统有限公司" → "腾讯"."""
    return _strip_suffixes(_base(name), (*_LEGAL, *TRADE_WORDS))


def company_full(name: str) -> str:
    """A company name without region, notes and legal form, trade words kept:
    "(北京)某科技有限公司" → "某科技"."""
    return _strip_suffixes(_base(name), _LEGAL)


def person_core(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").lower()
    return _PUNCT.sub("", _BRACKETS.sub("", text))


def person_pinyin(name: str) -> str:
    """A person's name as its pinyin syllables in alphabetical order, so that 刘洋 and
    刘阳 ("liu yang"), 王芳, "Wang Fang" and "FANG Wang" meet: "fang wang"."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = _BRACKETS.sub(" ", text)
    if _HAN.search(text):
        from pypinyin import lazy_pinyin

        words = [w for w in lazy_pinyin(text, errors="ignore") if w.strip()]
        words = [w for w in (_PUNCT.sub("", w) for w in words) if w]
    else:
        words = [w for w in _PUNCT.split(text) if w]
    return " ".join(sorted(words))


def email_key(email: str) -> str:
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def phone_key(phone: str) -> str:
    digits = normalise_phone(phone)
    return digits if len(digits) >= 7 else ""
