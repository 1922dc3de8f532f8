"""The retention plans of PRODUCT.md section 5, ready to use and editable."""

from django.db import migrations


def _q(value):
    return {"all": [{"field": "quadrant", "op": "eq", "value": value}]}


PLAYBOOKS = [
    (
        "核心客户",
        "Core: high value, high activity",
        _q("core"),
        "核心客户维系计划",
        "专属客户经理；每月电话 + 每季度拜访；优先供货、定制服务、专属优惠。",
        True,
        [
            (
                "每月电话回访",
                30,
                "phone",
                "致电{{ customer.name }}，了解近期需求与满意度，介绍专属优惠。",
            ),
            (
                "每季度上门拜访",
                90,
                "visit",
                "拜访{{ customer.name }}，回顾合作、提供定制服务（如培训）。",
            ),
        ],
    ),
    (
        "潜力客户",
        "Potential: high value, quiet lately",
        _q("potential"),
        "潜力客户激活计划",
        "新品试用邀请、限时折扣、高层对接；每两周邮件 + 每月需求调研；每季度促销。",
        True,
        [
            ("双周邮件", 14, "email", "给{{ customer.name }}发送新品试用邀请或限时折扣。"),
            ("月度需求调研", 30, "phone", "了解{{ customer.name }}的最新需求，记录在跟进中。"),
        ],
    ),
    (
        "基础客户",
        "Basic: low value, loyal",
        _q("basic"),
        "基础客户提升计划",
        "标准售后、行业资讯、节日关怀；目标是提高客单价。",
        True,
        [
            ("行业资讯", 30, "email", "给{{ customer.name }}发送本月行业资讯与搭配推荐。"),
            ("节日关怀", 90, "wechat", "节日问候{{ customer.name }}，附上会员专享活动。"),
        ],
    ),
    (
        "待观察客户",
        "Watch: low value, low activity",
        _q("watch"),
        "待观察客户低成本触达",
        "社群等低成本触达；调研不购买的原因，判断是否值得维系。",
        True,
        [
            (
                "社群触达",
                60,
                "community",
                "邀请{{ customer.name }}加入客户社群，询问不再购买的原因。",
            ),
        ],
    ),
    (
        "普通客户",
        "Ordinary: medium value tier",
        {"all": [{"field": "value_tier", "op": "eq", "value": "medium"}]},
        "普通客户年度关怀",
        "每年关怀一次并提醒积分（启用积分后打开此计划）。",
        False,
        [
            (
                "年度关怀与积分提醒",
                365,
                "email",
                "向{{ customer.name }}致以年度问候并提醒积分余额。",
            ),
        ],
    ),
]


def create(apps, schema_editor):
    Segment = apps.get_model("playbooks", "Segment")
    Playbook = apps.get_model("playbooks", "Playbook")
    PlaybookAction = apps.get_model("playbooks", "PlaybookAction")
    for seg_name, seg_desc, conditions, name, description, active, actions in PLAYBOOKS:
        segment, _ = Segment.objects.get_or_create(
            name=seg_name, defaults={"description": seg_desc, "conditions": conditions}
        )
        playbook, created = Playbook.objects.get_or_create(
            name=name,
            defaults={"segment": segment, "description": description, "active": active},
        )
        if created:
            for action_name, every, channel, template in actions:
                PlaybookAction.objects.create(
                    playbook=playbook,
                    name=action_name,
                    every_days=every,
                    channel=channel,
                    template=template,
                    owner_rule="account_owner",
                )


def remove(apps, schema_editor):
    apps.get_model("playbooks", "Playbook").objects.all().delete()
    apps.get_model("playbooks", "Segment").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
