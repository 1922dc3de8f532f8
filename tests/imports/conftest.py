from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

SEED_HEADER = [
    "客户编号",
    "客户名称",
    "联系人",
    "所属行业",
    "客户来源",
    "首次接触时间",
    "当前状态",
    "关键需求",
    "备注",
]
SEED_ROWS = [
    [
        "C2024001",
        "*科技有限公司",
        "张*",
        "IT服务",
        "行业展会",
        "2024-01-15",
        "潜在客户",
        "云存储解决方案",
        "计划Q3采购预算50万",
    ],
    [
        "C2024002",
        "*制造集团",
        "李*",
        "制造业",
        "客户转介绍",
        "2023-11-20",
        "核心客户",
        "供应链管理优化",
        "已合作2年",
    ],
]


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # as Excel writes it
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(
    path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8"
) -> Path:
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "客户信息表"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def importer(db):
    from retain.accounts.services import user_create

    return user_create(username="importer", password="a-long-test-password", role="manager")


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English here; tests/imports/test_i18n_messages.py checks Chinese."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
