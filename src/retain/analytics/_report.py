"""One self-contained HTML report (ECharts inlined, works offline) of a scoring run."""

from __future__ import annotations

import datetime as dt
import html
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from retain.analytics._kpis import KpiSnapshot
from retain.analytics._labels import Quadrant, RfmSegment
from retain.analytics._scoring import FittedModels

if TYPE_CHECKING:
    from retain.analytics._churn import Backtest

__all__ = ["echarts_source", "render_report"]

#: The engine's own copy of the ECharts bundle (package data; the web app ships its own copy
#: under web/static/vendor/, a test keeps the two identical). The engine reads nothing of the
#: web app.
_ECHARTS = ("vendor", "echarts.min.js")


def echarts_source() -> str:
    """The vendored ECharts bundle (``retain/analytics/vendor/echarts.min.js``)."""
    node = resources.files("retain.analytics")
    for part in _ECHARTS:
        node = node.joinpath(part)
    try:
        return node.read_text(encoding="utf-8")
    except FileNotFoundError as exc:  # pragma: no cover - packaging error
        where = "/".join(_ECHARTS)
        raise FileNotFoundError(f"ECharts bundle missing at retain/analytics/{where}") from exc


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")


def _num(value: Any, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value):
        return None
    return round(float(value), digits)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _quadrant_data(scores: pd.DataFrame) -> list[dict[str, Any]]:
    buyers = scores[scores["quadrant"].notna()]
    total = max(len(buyers), 1)
    revenue_total = float(buyers["value_spend"].clip(lower=0).sum()) or 1.0
    cells = {
        str(Quadrant.CORE): (1, 1),
        str(Quadrant.POTENTIAL): (0, 1),
        str(Quadrant.BASIC): (1, 0),
        str(Quadrant.WATCH): (0, 0),
    }
    out = []
    for name, (x, y) in cells.items():
        part = buyers[buyers["quadrant"] == name]
        out.append(
            {
                "name": name,
                "value": [x, y, len(part)],
                "share": round(len(part) / total, 4),
                "revenue": round(float(part["value_spend"].sum()), 2),
                "revenue_share": round(
                    float(part["value_spend"].clip(lower=0).sum()) / revenue_total, 4
                ),
            }
        )
    return out


def _histogram(values: pd.Series, bins: int = 30) -> dict[str, list[Any]]:
    v = values.dropna().to_numpy(dtype=np.float64)
    if v.size == 0:
        return {"labels": [], "counts": []}
    top = float(np.quantile(v, 0.99)) or float(v.max()) or 1.0
    counts, edges = np.histogram(np.clip(v, 0, top), bins=bins, range=(0.0, top))
    labels = [f"{edges[i]:,.0f}–{edges[i + 1]:,.0f}" for i in range(bins)]
    labels[-1] += "+"
    return {"labels": labels, "counts": counts.astype(int).tolist()}


def _cohort_data(cohorts: pd.DataFrame) -> dict[str, Any]:
    offsets = [c for c in cohorts.columns if c != "cohort_size"]
    cells = []
    for i, (_, row) in enumerate(cohorts.iterrows()):  # cohorts are months: a few dozen rows
        for j, off in enumerate(offsets):
            value = row[off]
            if pd.notna(value):
                cells.append([j, i, round(100 * float(value), 1)])
    later = [c[2] for c in cells if c[0] > 0]
    return {
        "max": max(later, default=100.0),
        "cohorts": [
            f"{c} (n={int(n)})" for c, n in zip(cohorts.index, cohorts["cohort_size"], strict=True)
        ],
        "offsets": [str(o) for o in offsets],
        "cells": cells,
    }


def _at_risk_rows(scores: pd.DataFrame, limit: int) -> str:
    risky = scores[scores["churn_risk"].isin(["high", "medium"])].copy()
    risky["_order"] = risky["churn_risk"].map({"high": 0, "medium": 1})
    risky = risky.sort_values(
        ["_order", "expected_lost_value", "total_spend"],
        ascending=[True, False, False],
        na_position="last",
    )
    risky = risky.head(limit)
    rows = []
    for r in risky.itertuples(index=False):  # at most `limit` rows of HTML
        last = (
            pd.Timestamp(r.last_purchase).date().isoformat() if pd.notna(r.last_purchase) else "–"
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(r.customer_id))}</td>"
            f"<td class=risk-{html.escape(str(r.churn_risk))}>{html.escape(str(r.churn_risk))}</td>"
            f"<td>{html.escape(str(r.rfm_segment))}</td><td>{html.escape(str(r.quadrant))}</td>"
            f"<td>{last}</td><td class=num>{int(r.order_count)}</td>"
            f"<td class=num>{_money(_num(r.total_spend))}</td>"
            f"<td class=num>{_pct(_num(r.churn_probability, 4))}</td>"
            f"<td class=num>{_money(_num(r.predicted_ltv))}</td>"
            f"<td>{html.escape(str(r.risk_reasons or ''))}</td>"
            "</tr>"
        )
    return "\n".join(rows)


_MODEL_NAMES = {
    "logistic": "Learned: logistic regression",
    "hgb": "Learned: gradient boosting",
    "recency": "Baseline: days since last purchase",
    "rfm_logistic": "Baseline: RFM logistic regression",
    "bgnbd": "Baseline: BG/NBD",
}


def _backtest_data(result: Backtest | None) -> dict[str, Any] | None:
    if result is None or not result.origins:
        return None
    latest = result.origins[0]
    series = []
    for name in (result.chosen, "rfm_logistic", "bgnbd"):
        points = [
            [round(d["predicted"], 4), round(d["observed"], 4)]
            for d in latest["models"][name]["calibration"]
        ]
        series.append({"name": _MODEL_NAMES[name], "points": points})
    return {"series": series}


def _backtest_html(result: Backtest | None) -> str:
    if result is None or not result.origins:
        return ""
    summary = result.summary()
    rows = []
    for r in summary.to_dict("records"):
        name = str(r["model"])
        label = _MODEL_NAMES.get(name, name) + (" (chosen)" if name == result.chosen else "")
        cells = "".join(
            f"<td class=num>{r[m]:.3f} <small>({r[m + '_min']:.3f}–{r[m + '_max']:.3f})</small></td>"
            for m in ("roc_auc", "pr_auc", "brier", "calibration_error", "top_decile_capture")
        )
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    forecast = "".join(
        f"<tr><td>{html.escape(str(r['model']))}</td><td class=num>{100 * r['bias']:+.1f}%</td>"
        f"<td class=num>{r['mae']:.3f}</td></tr>"
        for r in result.forecast_summary().to_dict("records")
    )
    cut_offs = ", ".join(str(o["cut_off"]) for o in result.origins)
    return f"""<section style="margin-top:16px"><h2>Back-test: how far to trust the churn
probability</h2><small>Cut-offs {html.escape(cut_offs)}; outcome: no purchase in the next
{result.horizon_days} days. Mean over the cut-offs (min–max). ROC and PR AUC: higher is better;
Brier score and calibration error: lower is better.</small>
<table><thead><tr><th>Model</th><th>ROC AUC</th><th>PR AUC</th><th>Brier</th>
<th>Calibration error</th><th>Top-decile capture</th></tr></thead><tbody>
{"".join(rows)}</tbody></table>
<div class=grid><div><h2>Calibration (newest cut-off, by decile)</h2>
<div id=calibration class=chart></div></div>
<div><h2>Purchase forecast in the horizon</h2><table><thead><tr><th>Forecast</th>
<th>Aggregate bias</th><th>MAE per customer</th></tr></thead><tbody>{forecast}</tbody></table>
</div></div></section>"""


def render_report(
    scores: pd.DataFrame,
    *,
    as_of: dt.date,
    kpis: KpiSnapshot,
    cohorts: pd.DataFrame,
    models: FittedModels,
    source: str = "",
    top_at_risk: int = 25,
    echarts_js: str | None = None,
    backtest: Backtest | None = None,
) -> str:
    """The HTML text of the report: KPI cards, quadrant matrix, RFM distribution, cohort heatmap,
    lifetime-value distribution and the most valuable customers at risk.

    One file, no network: ECharts and the data are inlined.
    """
    js = echarts_js if echarts_js is not None else echarts_source()
    buyers = scores[scores["T_days"].notna()]
    segments = buyers["rfm_segment"].value_counts()
    lifecycle = scores["lifecycle_stage"].value_counts()
    risk = buyers["churn_risk"].value_counts()
    bg = models.bgnbd
    gg = models.gamma_gamma
    unit = "week" if models.days_per_unit == 7 else f"{models.days_per_unit:g} days"
    data = {
        "quadrants": _quadrant_data(scores),
        "segments": {
            "names": [str(s) for s in RfmSegment],
            "counts": [int(segments.get(str(s), 0)) for s in RfmSegment],
        },
        "lifecycle": [{"name": str(k), "value": int(v)} for k, v in lifecycle.items()],
        "risk": [{"name": str(k), "value": int(v)} for k, v in risk.items()],
        "ltv": _histogram(buyers["predicted_ltv"]),
        "cohorts": _cohort_data(cohorts),
        "backtest": _backtest_data(backtest),
    }
    cards = [
        ("Customers", f"{kpis.customer_count:,}"),
        ("Active (new + returning)", f"{kpis.active_customers:,}"),
        ("Retention (yearly)", _pct(kpis.retention_rate)),
        ("Churn (yearly)", _pct(kpis.churn_rate)),
        ("Repurchase rate", _pct(kpis.repurchase_rate)),
        ("Avg historical LTV", _money(kpis.average_historical_ltv)),
        ("Predicted LTV (sum)", _money(_num(buyers["predicted_ltv"].sum()))),
        ("Revenue (value window)", _money(kpis.revenue)),
    ]
    card_html = "".join(
        f"<div class=card><div class=label>{html.escape(k)}</div><div class=value>{v}</div></div>"
        for k, v in cards
    )
    params = (
        f"BG/NBD r={bg.r_:.4g}, α={bg.alpha_:.4g} (per {unit}), a={bg.a_:.4g}, b={bg.b_:.4g}"
        + (f"; Gamma-Gamma p={gg.p_:.4g}, q={gg.q_:.4g}, v={gg.v_:.4g}" if gg is not None else "")
    )
    title = f"retain analysis of {source}" if source else "retain analysis"
    return _TEMPLATE.format(
        title=html.escape(title),
        as_of=as_of.isoformat(),
        n=f"{len(scores):,}",
        cards=card_html,
        params=html.escape(params),
        rows=_at_risk_rows(scores, top_at_risk),
        backtest=_backtest_html(backtest),
        top=top_at_risk,
        echarts=js,
        data=_json(data),
    )


def write_report(path: str | Path, text: str) -> None:
    """Write the report as UTF-8."""
    Path(path).write_text(text, encoding="utf-8")


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans SC",sans-serif;margin:0;
background:#f6f7f9;color:#1d2330}}
header{{background:#1d3557;color:#fff;padding:18px 28px}} header h1{{margin:0;font-size:22px}}
header p{{margin:4px 0 0;opacity:.85;font-size:13px}}
main{{padding:18px 28px;max-width:1400px;margin:auto}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}}
.card{{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0001}}
.card .label{{font-size:12px;color:#5b6475}} .card .value{{font-size:22px;font-weight:600}}
.grid{{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;margin-top:16px}}
section{{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0001}}
section h2{{font-size:16px;margin:4px 0 8px}} .chart{{height:360px}}
table{{border-collapse:collapse;width:100%;font-size:13px}}
th,td{{border-bottom:1px solid #e6e8ec;padding:6px 8px;text-align:left;vertical-align:top}}
td.num{{text-align:right;font-variant-numeric:tabular-nums}}
.risk-high{{color:#b00020;font-weight:600}} .risk-medium{{color:#b36b00}}
small{{color:#5b6475}}
</style></head>
<body>
<header><h1>{title}</h1><p>As of {as_of} · {n} customers · {params}</p></header>
<main>
<div class=cards>{cards}</div>
<div class=grid>
<section><h2>Value × activity matrix</h2><div id=quadrants class=chart></div>
<small>Core: high value, high activity · Potential: high value, low activity ·
Basic: low value, high activity · Watch: low value, low activity.</small></section>
<section><h2>RFM segments</h2><div id=segments class=chart></div></section>
<section><h2>Cohort retention (returned in month N)</h2><div id=cohorts class=chart></div>
<small>Share of each acquisition cohort buying in month N after the first purchase.</small></section>
<section><h2>Predicted lifetime value</h2><div id=ltv class=chart></div></section>
<section><h2>Lifecycle stage</h2><div id=lifecycle class=chart></div></section>
<section><h2>Churn risk</h2><div id=risk class=chart></div></section>
</div>
{backtest}
<section style="margin-top:16px"><h2>Top {top} customers at risk (by expected lost value)</h2>
<table><thead><tr><th>Customer</th><th>Risk</th><th>RFM segment</th><th>Quadrant</th>
<th>Last purchase</th><th>Orders</th><th>Spend</th><th>Churn probability</th><th>Predicted LTV</th>
<th>Reasons</th></tr></thead><tbody>
{rows}
</tbody></table></section>
</main>
<script>{echarts}</script>
<script>
const DATA = {data};
function chart(id, option) {{
  const c = echarts.init(document.getElementById(id));
  c.setOption(option); window.addEventListener('resize', () => c.resize()); return c;
}}
const q = DATA.quadrants;
chart('quadrants', {{
  tooltip: {{formatter: p => {{ const d = q[p.dataIndex];
    return `${{d.name}}<br>${{d.value[2]}} customers (${{(100*d.share).toFixed(1)}}%)<br>` +
      `revenue ${{d.revenue.toLocaleString()}} (${{(100*d.revenue_share).toFixed(1)}}%)`; }} }},
  xAxis: {{type: 'category', data: ['low activity', 'high activity'], splitArea: {{show: true}}}},
  yAxis: {{type: 'category', data: ['low value', 'high value'], splitArea: {{show: true}}}},
  visualMap: {{min: 0, max: Math.max(...q.map(d => d.value[2]), 1), show: false,
    inRange: {{color: ['#e8f1fb', '#1d3557']}}}},
  series: [{{type: 'heatmap', data: q.map(d => ({{value: d.value, name: d.name}})),
    label: {{show: true, fontSize: 14, formatter: p => {{ const d = q[p.dataIndex];
      return `${{d.name}}\\n${{d.value[2]}} (${{(100*d.share).toFixed(1)}}%)\\n` +
        `revenue ${{(100*d.revenue_share).toFixed(1)}}%`; }} }} }}]
}});
chart('segments', {{
  tooltip: {{}}, grid: {{left: 120}},
  xAxis: {{type: 'value'}}, yAxis: {{type: 'category', data: DATA.segments.names, inverse: true}},
  series: [{{type: 'bar', data: DATA.segments.counts, itemStyle: {{color: '#457b9d'}},
    label: {{show: true, position: 'right'}}}}]
}});
const co = DATA.cohorts;
chart('cohorts', {{
  tooltip: {{formatter: p => `${{co.cohorts[p.value[1]]}}, month ${{co.offsets[p.value[0]]}}: ${{p.value[2]}}%`}},
  grid: {{left: 130, bottom: 60}},
  xAxis: {{type: 'category', data: co.offsets, name: 'month N'}},
  yAxis: {{type: 'category', data: co.cohorts, inverse: true}},
  visualMap: {{min: 0, max: co.max, calculable: true, orient: 'horizontal', left: 'right', bottom: 0,
    inRange: {{color: ['#f7fbff', '#08306b']}}}},
  series: [{{type: 'heatmap', data: co.cells, progressive: 0}}]
}});
chart('ltv', {{
  tooltip: {{}}, grid: {{bottom: 70}},
  xAxis: {{type: 'category', data: DATA.ltv.labels, axisLabel: {{rotate: 45}}}},
  yAxis: {{type: 'value', name: 'customers'}},
  series: [{{type: 'bar', data: DATA.ltv.counts, itemStyle: {{color: '#2a9d8f'}}}}]
}});
chart('lifecycle', {{tooltip: {{}}, series: [{{type: 'pie', radius: ['35%', '70%'], data: DATA.lifecycle,
  label: {{formatter: '{{b}}: {{c}} ({{d}}%)'}}}}]}});
chart('risk', {{tooltip: {{}}, color: ['#b00020', '#f4a261', '#2a9d8f'],
  series: [{{type: 'pie', radius: ['35%', '70%'],
  data: ['high', 'medium', 'low'].map(n => DATA.risk.find(d => d.name === n) || {{name: n, value: 0}}),
  label: {{formatter: '{{b}}: {{c}} ({{d}}%)'}}}}]}});
if (DATA.backtest) {{
  const b = DATA.backtest;
  chart('calibration', {{
    tooltip: {{trigger: 'axis'}}, legend: {{top: 0}},
    xAxis: {{type: 'value', name: 'predicted', min: 0, max: 1}},
    yAxis: {{type: 'value', name: 'observed', min: 0, max: 1}},
    series: [{{name: 'ideal', type: 'line', data: [[0, 0], [1, 1]], lineStyle: {{type: 'dashed'}},
      symbol: 'none', color: '#999'}}].concat(b.series.map(s => ({{name: s.name, type: 'line',
      data: s.points}})))
  }});
}}
</script>
</body></html>
"""
