"""The automatic tags of PRODUCT.md section 4 with their rules (editable in the admin)."""

from django.db import migrations

RULES = [
    (
        "高价值",
        "High value: top value tier",
        {"all": [{"field": "value_tier", "op": "eq", "value": "high"}]},
    ),
    (
        "活跃用户",
        "Active: new or returning buyer",
        {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["new", "returning"]}]},
    ),
    ("一次性购买", "One-time buyer", {"all": [{"field": "order_count", "op": "eq", "value": 1}]}),
    (
        "流失风险",
        "Churn risk: high",
        {"all": [{"field": "churn_risk", "op": "eq", "value": "high"}]},
    ),
    (
        "新品试用",
        "New-product tester: joined a new-product trial",
        {"all": [{"field": "campaign_kind", "op": "eq", "value": "new_product"}]},
    ),
    (
        "近期投诉",
        "Complained: an open or recent complaint",
        {
            "any": [
                {"field": "open_complaints", "op": "gt", "value": 0},
                {"field": "recent_complaints", "op": "gt", "value": 0},
            ]
        },
    ),
    (
        "长期未复购",
        "No repurchase: one order, more than 180 days ago",
        {
            "all": [
                {"field": "order_count", "op": "eq", "value": 1},
                {"field": "recency_days", "op": "gt", "value": 180},
            ]
        },
    ),
]


def create(apps, schema_editor):
    TagGroup = apps.get_model("tags", "TagGroup")
    Tag = apps.get_model("tags", "Tag")
    TagRule = apps.get_model("scoring", "TagRule")
    group, _ = TagGroup.objects.get_or_create(name="自动标签", defaults={"kind": "behaviour"})
    for name, description, conditions in RULES:
        tag, _ = Tag.objects.get_or_create(
            group=group, name=name, defaults={"automatic": True, "description": description}
        )
        TagRule.objects.get_or_create(tag=tag, defaults={"conditions": conditions})


def remove(apps, schema_editor):
    apps.get_model("scoring", "TagRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial"), ("tags", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
