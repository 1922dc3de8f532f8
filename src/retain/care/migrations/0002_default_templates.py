"""Greetings that ship ready: birthday, Spring Festival, Mid-Autumn, National Day."""

from django.db import migrations

FOOTER = "\n\n如不希望再收到此类问候，请点击退订：{{ unsubscribe_url }}"
TEMPLATES = [
    (
        "生日祝福",
        "birthday",
        "{{ name }}，生日快乐！",
        "亲爱的{{ name }}：\n\n祝您生日快乐，万事顺意！感谢一直以来的支持。",
    ),
    (
        "春节问候",
        "spring_festival",
        "新春快乐，{{ name }}",
        "亲爱的{{ name }}：\n\n值此新春佳节，恭祝您阖家幸福、万事如意！",
    ),
    (
        "中秋问候",
        "mid_autumn",
        "中秋快乐，{{ name }}",
        "亲爱的{{ name }}：\n\n月圆人团圆，祝您中秋快乐！",
    ),
    (
        "国庆问候",
        "national_day",
        "国庆快乐，{{ name }}",
        "亲爱的{{ name }}：\n\n祝您国庆假期愉快！",
    ),
]


def create(apps, schema_editor):
    CareTemplate = apps.get_model("care", "CareTemplate")
    for name, occasion, subject, body in TEMPLATES:
        CareTemplate.objects.get_or_create(
            name=name,
            defaults={
                "occasion": occasion,
                "channel": "email",
                "subject": subject,
                "body": body + FOOTER,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("care", "CareTemplate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
