"""What each kind of import file holds: its fields, their headers in Chinese and English,
how each cell is read, and which values of a choice column mean what.

The Chinese headers of the seed templates (客户信息表, 跟进记录表) come first, so a blank
template downloaded in Chinese has exactly the seed's columns in the seed's order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    ORDERS = "orders", _("Orders")
    FOLLOWUPS = "followups", _("Follow-ups")
    COMPLAINTS = "complaints", _("Complaints")
    SURVEYS = "surveys", _("Survey answers")
    POINTS_OPENING = "points_opening", _("Opening points balances")
    POINTS_ADJUSTMENTS = "points_adjustments", _("Points adjustments")
    COUPON_REDEMPTIONS = "coupon_redemptions", _("Coupon redemptions")


class Parse(models.TextChoices):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    AMOUNT = "amount"
    PHONE = "phone"
    EMAIL = "email"
    CHOICE = "choice"
    BOOL = "bool"
    NPS = "nps"
    SATISFACTION = "satisfaction"
    POINTS = "points"


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    en: str
    parse: str = Parse.TEXT
    required: bool = False
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    # For CHOICE: normalised cell text -> stored value (the stored values map to themselves).
    choices: dict[str, str] = field(default_factory=dict)


CUSTOMER_STATUS = {
    # The seed's words (客户信息表 当前状态, and its value x activity quadrant: 核心客户,
    # 潜力客户, 基础客户, 待观察客户), their synonyms, and English. The quadrant itself is
    # recomputed by scoring; the status keeps what the sheet says about activity.
    "潜在客户": "prospect",
    "意向客户": "prospect",
    "潜客": "prospect",
    "新客户": "prospect",
    "prospect": "prospect",
    "lead": "prospect",
    "potentialcustomer": "prospect",
    "活跃客户": "active",
    "合作客户": "active",
    "老客户": "active",
    "普通客户": "active",
    "一般客户": "active",
    "基础客户": "active",  # low value, high activity
    "忠诚客户": "active",
    "active": "active",
    "basic": "active",
    "regular": "active",
    "核心客户": "core",
    "重点客户": "core",
    "重要客户": "core",
    "高价值客户": "core",
    "vip": "core",
    "vip客户": "core",
    "core": "core",
    "keyaccount": "core",
    "潜力客户": "silent",  # high value, low activity: to re-activate
    "待观察客户": "silent",  # low value, low activity
    "待观察": "silent",
    "沉默客户": "silent",
    "休眠客户": "silent",
    "沉睡客户": "silent",
    "potential": "silent",
    "watch": "silent",
    "silent": "silent",
    "dormant": "silent",
    "inactive": "silent",
    "流失客户": "churned",
    "已流失": "churned",
    "流失": "churned",
    "churned": "churned",
    "lost": "churned",
}
CUSTOMER_KIND = {"公司": "company", "企业": "company", "个人": "person", "个人客户": "person"}
ORDER_CHANNEL = {
    "线上": "online",
    "网店": "online",
    "电商": "online",
    "线下": "offline",
    "门店": "offline",
}
PAYMENT_METHOD = {
    "支付宝": "alipay",
    "微信": "wechat_pay",
    "微信支付": "wechat_pay",
    "银行卡": "card",
    "刷卡": "card",
    "信用卡": "card",
    "转账": "transfer",
    "银行转账": "transfer",
    "对公转账": "transfer",
    "现金": "cash",
    "其他": "other",
}
ORDER_STATUS = {"已支付": "paid", "已付款": "paid", "已退款": "refunded", "退款": "refunded"}
FOLLOWUP_KIND = {
    "咨询": "inquiry",
    "电话": "call",
    "电话沟通": "call",
    "邮件": "email",
    "邮件推送": "email",
    "拜访": "visit",
    "现场拜访": "visit",
    "上门拜访": "visit",
    "会议": "meeting",
    "在线": "chat",
    "微信": "chat",
    "在线沟通": "chat",
    "其他": "other",
}
SEVERITY = {
    "紧急": "urgent",
    "高": "high",
    "一般": "normal",
    "普通": "normal",
    "中": "normal",
    "低": "low",
}
COMPLAINT_STATUS = {
    "待处理": "open",
    "未处理": "open",
    "处理中": "in_progress",
    "已解决": "resolved",
    "已关闭": "closed",
}
COMPLAINT_CHANNEL = {
    "电话": "phone",
    "邮件": "email",
    "在线": "chat",
    "在线客服": "chat",
    "社交媒体": "social",
    "微博": "social",
    "当面": "in_person",
    "现场": "in_person",
}

CUSTOMER_CODE = Field(
    "customer_code",
    "客户编号",
    "Customer code",
    required=True,
    max_length=32,
    aliases=("客户代码", "code", "customer id", "customer no"),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    ImportKind.CUSTOMERS: (
        Field(
            "code",
            "客户编号",
            "Customer code",
            max_length=32,
            aliases=("客户代码", "code", "customer id", "customer no"),
        ),
        Field(
            "name",
            "客户名称",
            "Customer name",
            required=True,
            max_length=200,
            aliases=("客户", "公司名称", "名称", "name", "company", "customer"),
        ),
        Field(
            "contact", "联系人", "Contact", max_length=100, aliases=("contact name", "联系人姓名")
        ),
        Field("industry", "所属行业", "Industry", max_length=100, aliases=("行业",)),
        Field("source", "客户来源", "Source", max_length=100, aliases=("来源", "customer source")),
        Field(
            "first_contact_date",
            "首次接触时间",
            "First contact date",
            Parse.DATE,
            aliases=("首次接触日期", "首次接触", "first contact"),
        ),
        Field(
            "status",
            "当前状态",
            "Current status",
            Parse.CHOICE,
            choices=CUSTOMER_STATUS,
            aliases=("状态", "客户状态", "status"),
        ),
        Field("key_needs", "关键需求", "Key needs", max_length=500, aliases=("需求", "needs")),
        Field("notes", "备注", "Notes", max_length=5000, aliases=("note", "remarks", "comment")),
        Field(
            "kind",
            "客户类型",
            "Kind",
            Parse.CHOICE,
            choices=CUSTOMER_KIND,
            aliases=("类型", "type", "customer type"),
        ),
        Field(
            "phone",
            "联系电话",
            "Phone",
            Parse.PHONE,
            aliases=("电话", "手机", "手机号", "mobile", "telephone"),
        ),
        Field("email", "邮箱", "Email", Parse.EMAIL, aliases=("电子邮箱", "电子邮件", "e-mail")),
        Field("region", "区域", "Region", max_length=100, aliases=("大区", "地区")),
        Field("city", "城市", "City", max_length=100, aliases=("所在城市",)),
    ),
    ImportKind.CONTACTS: (
        CUSTOMER_CODE,
        Field(
            "name",
            "联系人",
            "Contact",
            required=True,
            max_length=100,
            aliases=("姓名", "联系人姓名", "name", "contact name"),
        ),
        Field("title", "职务", "Title", max_length=100, aliases=("职位", "job title")),
        Field(
            "phone",
            "联系电话",
            "Phone",
            Parse.PHONE,
            aliases=("电话", "手机", "手机号", "mobile", "telephone"),
        ),
        Field("email", "邮箱", "Email", Parse.EMAIL, aliases=("电子邮箱", "电子邮件", "e-mail")),
        Field("wechat_id", "微信号", "WeChat id", max_length=100, aliases=("微信", "wechat")),
        Field("birthday", "生日", "Birthday", Parse.DATE, aliases=("出生日期",)),
        Field("is_primary", "主要联系人", "Primary contact", Parse.BOOL, aliases=("primary",)),
        Field("left_on", "离职日期", "Left on", Parse.DATE, aliases=("离职时间", "left")),
    ),
    ImportKind.ORDERS: (
        Field(
            "number",
            "订单编号",
            "Order number",
            required=True,
            max_length=64,
            aliases=("订单号", "单号", "order no", "order id", "number"),
        ),
        CUSTOMER_CODE,
        Field(
            "ordered_at",
            "下单时间",
            "Ordered at",
            Parse.DATETIME,
            required=True,
            aliases=("下单日期", "订单日期", "日期", "order date", "date"),
        ),
        Field(
            "amount",
            "订单金额",
            "Amount",
            Parse.AMOUNT,
            required=True,
            aliases=("金额", "实付金额", "order amount", "total"),
        ),
        Field(
            "channel",
            "渠道",
            "Channel",
            Parse.CHOICE,
            choices=ORDER_CHANNEL,
            aliases=("销售渠道", "购买渠道"),
        ),
        Field(
            "payment_method",
            "支付方式",
            "Payment method",
            Parse.CHOICE,
            choices=PAYMENT_METHOD,
            aliases=("付款方式", "payment"),
        ),
        Field(
            "status",
            "订单状态",
            "Status",
            Parse.CHOICE,
            choices=ORDER_STATUS,
            aliases=("状态", "order status"),
        ),
        Field("currency", "币种", "Currency", max_length=3, aliases=("货币",)),
    ),
    ImportKind.FOLLOWUPS: (
        CUSTOMER_CODE,
        Field(
            "occurred_at",
            "跟进时间",
            "Date",
            Parse.DATETIME,
            required=True,
            aliases=("跟进日期", "日期", "时间", "occurred at", "follow-up date"),
        ),
        Field(
            "kind",
            "跟进方式",
            "Method",
            Parse.CHOICE,
            required=True,
            choices=FOLLOWUP_KIND,
            aliases=("方式", "沟通方式", "kind", "channel"),
        ),
        Field(
            "content",
            "跟进内容",
            "Content",
            required=True,
            max_length=5000,
            aliases=("内容", "沟通内容", "summary"),
        ),
        Field(
            "feedback",
            "客户反馈",
            "Customer feedback",
            max_length=5000,
            aliases=("反馈", "feedback"),
        ),
        Field("outcome", "跟进结果", "Outcome", max_length=300, aliases=("结果", "result")),
        Field(
            "next_step",
            "下一步计划",
            "Next step",
            max_length=300,
            aliases=("下一步", "下步计划", "next steps"),
        ),
        Field(
            "next_step_on",
            "下次跟进时间",
            "Next step date",
            Parse.DATE,
            aliases=("下次跟进日期", "计划日期", "next date"),
        ),
        Field("contact", "联系人", "Contact", max_length=100, aliases=("contact name",)),
        Field(
            "owner",
            "跟进人",
            "Owner",
            max_length=150,
            aliases=("负责人", "跟进人员", "客户经理", "owner username"),
        ),
    ),
    ImportKind.COMPLAINTS: (
        CUSTOMER_CODE,
        Field(
            "opened_at",
            "投诉时间",
            "Opened at",
            Parse.DATETIME,
            required=True,
            aliases=("投诉日期", "日期", "date"),
        ),
        Field(
            "category",
            "投诉类别",
            "Category",
            required=True,
            max_length=100,
            aliases=("类别", "投诉类型", "type"),
        ),
        Field(
            "description",
            "投诉内容",
            "Description",
            required=True,
            max_length=5000,
            aliases=("内容", "content"),
        ),
        Field(
            "channel",
            "投诉渠道",
            "Channel",
            Parse.CHOICE,
            choices=COMPLAINT_CHANNEL,
            aliases=("渠道",),
        ),
        Field(
            "severity",
            "严重程度",
            "Severity",
            Parse.CHOICE,
            choices=SEVERITY,
            aliases=("级别", "优先级", "priority"),
        ),
        Field(
            "status",
            "处理状态",
            "Status",
            Parse.CHOICE,
            choices=COMPLAINT_STATUS,
            aliases=("状态",),
        ),
        Field("resolution", "处理结果", "Resolution", max_length=5000, aliases=("解决方案",)),
    ),
    ImportKind.SURVEYS: (
        CUSTOMER_CODE,
        Field(
            "survey",
            "问卷名称",
            "Survey",
            required=True,
            max_length=200,
            aliases=("问卷", "调研名称", "survey name"),
        ),
        Field(
            "sent_at",
            "发送时间",
            "Sent at",
            Parse.DATETIME,
            required=True,
            aliases=("调研时间", "发送日期", "date"),
        ),
        Field(
            "answered_at",
            "回答时间",
            "Answered at",
            Parse.DATETIME,
            aliases=("回复时间", "答卷时间", "answered"),
        ),
        Field("nps", "推荐值", "NPS", Parse.NPS, aliases=("nps评分", "推荐意愿", "nps score")),
        Field(
            "satisfaction",
            "满意度",
            "Satisfaction",
            Parse.SATISFACTION,
            aliases=("满意度评分", "satisfaction score"),
        ),
        Field(
            "comment",
            "意见建议",
            "Comment",
            max_length=5000,
            aliases=("评论", "备注", "意见", "comments"),
        ),
    ),
}

POINTS_ON = Field(
    "on",
    "日期",
    "Date",
    Parse.DATE,
    aliases=("积分日期", "生效日期", "date", "as of"),
)
FIELDS[ImportKind.POINTS_OPENING] = (
    CUSTOMER_CODE,
    Field(
        "points",
        "期初积分",
        "Opening points",
        Parse.POINTS,
        required=True,
        aliases=("积分余额", "积分", "points", "balance", "points balance"),
    ),
    POINTS_ON,
)
FIELDS[ImportKind.POINTS_ADJUSTMENTS] = (
    CUSTOMER_CODE,
    Field(
        "points",
        "调整积分",
        "Points",
        Parse.POINTS,
        required=True,
        aliases=("积分", "积分调整", "adjustment", "points adjustment"),
    ),
    Field(
        "reason",
        "调整原因",
        "Reason",
        required=True,
        max_length=300,
        aliases=("原因", "备注", "reason for adjustment"),
    ),
    POINTS_ON,
    Field(
        "reference",
        "流水号",
        "Reference",
        max_length=64,
        aliases=("单据号", "参考号", "ref", "reference no"),
    ),
)
FIELDS[ImportKind.COUPON_REDEMPTIONS] = (
    CUSTOMER_CODE,
    Field(
        "coupon",
        "优惠券编码",
        "Coupon code",
        required=True,
        max_length=40,
        aliases=("优惠券", "券码", "coupon"),
    ),
    Field(
        "number",
        "订单编号",
        "Order number",
        required=True,
        max_length=64,
        aliases=("订单号", "单号", "order no", "order id", "order"),
    ),
    Field(
        "on",
        "使用日期",
        "Used on",
        Parse.DATE,
        aliases=("核销日期", "日期", "date", "redeemed on"),
    ),
)

#: The seed's sheet names, used as the default file and sheet names of the templates.
SHEET_NAMES = {
    ImportKind.CUSTOMERS: ("客户信息表", "customers"),
    ImportKind.CONTACTS: ("联系人表", "contacts"),
    ImportKind.ORDERS: ("订单表", "orders"),
    ImportKind.FOLLOWUPS: ("跟进记录表", "follow-ups"),
    ImportKind.COMPLAINTS: ("投诉记录表", "complaints"),
    ImportKind.SURVEYS: ("满意度调查表", "survey-answers"),
    ImportKind.POINTS_OPENING: ("期初积分表", "opening-points"),
    ImportKind.POINTS_ADJUSTMENTS: ("积分调整表", "points-adjustments"),
    ImportKind.COUPON_REDEMPTIONS: ("优惠券核销表", "coupon-redemptions"),
}

_NOISE = re.compile(r"[\s*＊:：_\-]+|[(（\[【].*?[)）\]】]")


def header_key(text: str) -> str:
    """A header as compared: NFKC, lower case, without spaces, stars and notes in brackets
    ("客户编号(必填)" and "客户编号 *" both become "客户编号")."""
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return _NOISE.sub("", text)


def choice_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


def fields_of(kind: str) -> tuple[Field, ...]:
    return FIELDS[kind]


def field_names(kind: str) -> dict[str, Field]:
    return {f.name: f for f in FIELDS[kind]}


def _keys(f: Field) -> list[str]:
    return [header_key(x) for x in (f.zh, f.en, f.name, *f.aliases)]


def mapping_guess(kind: str, headers: list[str]) -> dict[str, str]:
    """Which field each header fills: {header: field name}; headers left out are ignored.
    Exact names win over aliases, and a field is given to one header only."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for rank in (0, 1):
        for header in headers:
            if header in result:
                continue
            key = header_key(header)
            for f in FIELDS[kind]:
                keys = _keys(f)
                hit = key in keys[:3] if rank == 0 else key in keys[3:]
                if hit and f.name not in taken:
                    result[header] = f.name
                    taken.add(f.name)
                    break
    return result


def kind_guess(headers: list[str]) -> str | None:
    """The kind whose required fields the headers cover, best overall match first."""
    best: tuple[int, int, str] | None = None
    for kind in ImportKind.values:
        mapping = mapping_guess(kind, headers)
        mapped = set(mapping.values())
        required = {f.name for f in FIELDS[kind] if f.required}
        missing = len(required - mapped)
        score = (-missing, len(mapped), kind)
        if mapped and (best is None or score[:2] > best[:2]):
            best = score
    if best is None or best[0] < 0:
        return None
    return best[2]


def template_headers(kind: str, language: str) -> list[str]:
    return [f.zh if language.startswith("zh") else f.en for f in FIELDS[kind]]
