"""Interactive decision helper: describe a workload, see the recommended mode, why, and the costs.

Why a widget and a plain-data `state()`: learners explore by moving sliders, but notebooks are
tested by comparing outputs, so the visible widget is paired with `state()`, which a following
cell prints as checked, stable data. Displaying the helper (a cell ending in `helper`) also gives
a static snapshot, `static_html()`: the recommendation, reasons and both charts as HTML with
embedded images, which GitHub, nbviewer and a JupyterLab without a kernel show where the live
widget cannot render (`tools/clean_notebooks.py` keeps only the snapshot in committed outputs). Charts are drawn with matplotlib's object API (no pyplot,
no global backend state) into PNG images, so they render the same in JupyterLab, Voila, Studio
and tests, and a browser test can find every part by its CSS class:

- inputs: class `decision-input` plus `decision-input-<name>` (name as in `.controls`);
- recommendation: `decision-recommendation` (an element inside carries `data-mode`);
- reasons and alternatives: `decision-reasons`; exclusions: `decision-exclusions`;
  warnings: `decision-warnings`;
- charts: `decision-cost-chart` and `decision-traffic-chart`; price note: `decision-prices`.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import asdict, replace
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from utils.billing import format_usd
from utils.cost_model import MODE_LABELS, MODES, SHAPES, DeploymentOptions, cost_curve
from utils.decision import LATENCY_LABELS, Recommendation, Workload, options_for, recommend
from utils.pricing import PriceTable

MODE_COLOURS = {
    "realtime": "#1f77b4",
    "serverless": "#ff7f0e",
    "asynchronous": "#2ca02c",
    "batch": "#9467bd",
}
MODE_SHORT = {
    "realtime": "Real-time",
    "serverless": "Serverless",
    "asynchronous": "Async",
    "batch": "Batch",
}

_STYLE = {"description_width": "210px"}

# What the helper shows first: an interactive app with modest steady traffic and a tolerant
# latency budget, where serverless wins and the crossover with real-time is on the chart.
DEFAULT_WORKLOAD = Workload(
    2000,
    "steady",
    payload_kb=4,
    processing_ms=200,
    latency="interactive",
    latency_budget_ms=3000,
    model_size_mb=50,
)
_LAYOUT = widgets.Layout(width="520px")


def _log_slider(
    value: float, lo_exp: float, hi_exp: float, description: str, fmt: str, step: float = 0.05
) -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=lo_exp,
        max=hi_exp,
        step=step,
        description=description,
        readout_format=fmt,
        continuous_update=False,
        style=_STYLE,
        layout=_LAYOUT,
    )


class DecisionHelper:
    """The widget and its state; build it with `decision_helper()`."""

    def __init__(
        self,
        workload: Workload | None = None,
        options: DeploymentOptions | None = None,
        prices: PriceTable | None = None,
        curve_points: int = 60,
    ) -> None:
        self.prices = prices or PriceTable.load()
        self.base_options = options or DeploymentOptions()
        self.curve_points = curve_points
        w = workload or DEFAULT_WORKLOAD
        instance_types = self.prices.instance_types(self.base_options.region)
        self.controls: dict[str, widgets.ValueWidget] = {
            "requests_per_day": _log_slider(w.requests_per_day, 0, 7, "Requests per day", ",.0f"),
            "traffic_shape": widgets.Dropdown(
                options=[(s.label, name) for name, s in SHAPES.items()],
                value=w.traffic_shape,
                description="Traffic shape",
                style=_STYLE,
                layout=_LAYOUT,
            ),
            "payload_kb": _log_slider(w.payload_kb, -1, 6.3, "Payload size (KB)", ",.1f"),
            "processing_ms": _log_slider(
                w.processing_ms, 0, 6.6, "Processing per request (ms)", ",.0f"
            ),
            "latency": widgets.Dropdown(
                options=[(label, key) for key, label in LATENCY_LABELS.items()],
                value=w.latency,
                description="Latency requirement",
                style=_STYLE,
                layout=_LAYOUT,
            ),
            "latency_budget_ms": _log_slider(
                w.latency_budget_ms, 1, 5, "p99 latency budget (ms)", ",.0f"
            ),
            "user_waits": widgets.Checkbox(
                value=w.user_waits,
                description="A user waits for each answer",
                indent=False,
                layout=_LAYOUT,
            ),
            "needs_gpu": widgets.Checkbox(
                value=w.needs_gpu, description="Model needs a GPU", indent=False, layout=_LAYOUT
            ),
            "model_size_mb": _log_slider(w.model_size_mb, 0, 4.5, "Model size (MB)", ",.0f"),
            "instance_type": widgets.Dropdown(
                options=instance_types,
                value=self.base_options.instance_type
                if self.base_options.instance_type in instance_types
                else instance_types[0],
                description="Instance type (CPU)",
                style=_STYLE,
                layout=_LAYOUT,
            ),
            "serverless_memory_mb": widgets.Dropdown(
                options=[1024, 2048, 3072, 4096, 5120, 6144],
                value=self.base_options.serverless_memory_mb,
                description="Serverless memory (MB)",
                style=_STYLE,
                layout=_LAYOUT,
            ),
            "provisioned_concurrency": widgets.IntSlider(
                value=self.base_options.provisioned_concurrency,
                min=0,
                max=10,
                description="Provisioned concurrency",
                continuous_update=False,
                style=_STYLE,
                layout=_LAYOUT,
            ),
        }
        for name, control in self.controls.items():
            control.add_class("decision-input")
            control.add_class(f"decision-input-{name}")
            control.observe(self._on_change, names="value")

        self.recommendation_html = widgets.HTML().add_class("decision-recommendation")
        self.warnings_html = widgets.HTML().add_class("decision-warnings")
        self.reasons_html = widgets.HTML().add_class("decision-reasons")
        self.exclusions_html = widgets.HTML().add_class("decision-exclusions")
        self.cost_chart = widgets.Image(format="png", layout=widgets.Layout(width="480px"))
        self.cost_chart.add_class("decision-cost-chart")
        self.traffic_chart = widgets.Image(format="png", layout=widgets.Layout(width="560px"))
        self.traffic_chart.add_class("decision-traffic-chart")
        self.prices_html = widgets.HTML(self._price_note()).add_class("decision-prices")

        inputs = widgets.VBox(
            [
                widgets.HTML("<b>Your workload</b>"),
                *list(self.controls.values())[:9],
                widgets.HTML("<b>Deployment assumptions</b>"),
                *list(self.controls.values())[9:],
            ],
            layout=widgets.Layout(width="540px"),
        )
        answer = widgets.VBox(
            [self.recommendation_html, self.warnings_html, self.reasons_html, self.exclusions_html],
            layout=widgets.Layout(width="560px"),
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([inputs, answer]),
                widgets.HBox([self.cost_chart, self.traffic_chart]),
                self.prices_html,
            ]
        )
        self.widget.add_class("decision-helper")
        self.recommendation: Recommendation
        self.plot_data: dict[str, Any] = {}
        self._holding = False
        self.update()

    # -- model -------------------------------------------------------------------------------

    def workload(self) -> Workload:
        c = self.controls
        return Workload(
            requests_per_day=float(c["requests_per_day"].value),
            traffic_shape=c["traffic_shape"].value,
            payload_kb=float(c["payload_kb"].value),
            processing_ms=float(c["processing_ms"].value),
            latency=c["latency"].value,
            latency_budget_ms=float(c["latency_budget_ms"].value),
            needs_gpu=bool(c["needs_gpu"].value),
            model_size_mb=float(c["model_size_mb"].value),
            user_waits=bool(c["user_waits"].value),
        )

    def options(self) -> DeploymentOptions:
        c = self.controls
        return replace(
            self.base_options,
            instance_type=c["instance_type"].value,
            serverless_memory_mb=int(c["serverless_memory_mb"].value),
            provisioned_concurrency=int(c["provisioned_concurrency"].value),
        )

    def state(self) -> dict[str, Any]:
        """Current workload, options, recommendation and plotted numbers, as plain data."""
        rec = self.recommendation
        opts = rec.options
        return {
            "workload": asdict(rec.workload),
            "options": {
                "instance_type": opts.instance_type,
                "serverless_memory_mb": opts.serverless_memory_mb,
                "provisioned_concurrency": opts.provisioned_concurrency,
                "region": opts.region,
            },
            "recommendation": rec.to_dict(),
            "plot": self.plot_data,
            "prices_as_of": self.prices.as_of,
        }

    # -- events ------------------------------------------------------------------------------

    def _on_change(self, _change: dict[str, Any]) -> None:
        if not self._holding:
            self.update()

    def set_values(self, **values: Any) -> dict[str, Any]:
        """Set several controls at once (one recompute), e.g. `set_values(payload_kb=8192)`.

        Returns `state()`, so a notebook cell can show what the change did.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            raise KeyError(f"unknown control(s) {sorted(unknown)}; known: {sorted(self.controls)}")
        self._holding = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._holding = False
        self.update()
        return self.state()

    def update(self) -> None:
        """Recompute the recommendation and redraw everything from the current controls."""
        workload = self.workload()
        self.recommendation = recommend(workload, self.options(), self.prices)
        self._render_text(self.recommendation)
        self._render_costs(self.recommendation)
        self._render_traffic(self.recommendation)

    # -- rendering ---------------------------------------------------------------------------

    def _price_note(self) -> str:
        unconfirmed = self.prices.unconfirmed(self.base_options.region)
        note = (
            f"{len(unconfirmed)} of the prices used are unconfirmed estimates; "
            if unconfirmed
            else ""
        )
        return (
            f"<small>Prices: {html.escape(self.base_options.region)}, on-demand, as of "
            f"{html.escape(self.prices.as_of)} (utils/prices.json, sourced from "
            "https://aws.amazon.com/sagemaker/pricing/). "
            f"{note}check the pricing page before you decide.</small>"
        )

    def _render_text(self, rec: Recommendation) -> None:
        if rec.mode is None:
            head = (
                '<div class="decision-recommendation-text" data-mode="none">'
                "<b>No SageMaker inference mode fits this workload.</b></div>"
            )
        else:
            best = rec.ranked[0]
            head = (
                f'<div class="decision-recommendation-text" data-mode="{rec.mode}">'
                f'<span style="font-size:1.3em">Recommended: <b>{html.escape(rec.label)}</b></span>'
                f"<br>about <b>{format_usd(best.monthly_usd)}</b> per month</div>"
            )
        self.recommendation_html.value = head
        if rec.warnings:
            items = "".join(
                f'<li data-code="{w.code}">{html.escape(w.message)}</li>' for w in rec.warnings
            )
            self.warnings_html.value = (
                '<div style="background:#fff4e5;border-left:4px solid #f0a030;padding:4px 8px">'
                f"<b>Watch out</b><ul>{items}</ul></div>"
            )
        else:
            self.warnings_html.value = ""
        rows = []
        for i, a in enumerate(rec.ranked):
            title = "Why" if i == 0 else f"Alternative {i}: {html.escape(a.label)}"
            reasons = "".join(f"<li>{html.escape(r)}</li>" for r in a.reasons)
            rows.append(
                f'<div data-mode="{a.mode}" data-fit="{a.fit}"><b>{title}</b> '
                f"(fit: {a.fit})<ul>{reasons}</ul></div>"
            )
        self.reasons_html.value = "".join(rows)
        if rec.excluded:
            items = "".join(
                f'<li data-mode="{e.mode}"><b>{html.escape(e.label)}</b>: {html.escape(e.reason)} '
                f"(limit: {html.escape(e.limit)})</li>"
                for e in rec.excluded
            )
            self.exclusions_html.value = f"<b>Ruled out</b><ul>{items}</ul>"
        else:
            self.exclusions_html.value = ""

    def _render_costs(self, rec: Recommendation) -> None:
        excluded = rec.excluded_modes()
        values = [rec.monthly_usd[m] for m in MODES]
        fig = Figure(figsize=(4.8, 3.2), dpi=100)
        ax = fig.add_subplot()
        bars = ax.bar(
            [MODE_SHORT[m] for m in MODES],
            values,
            color=["#cccccc" if m in excluded else MODE_COLOURS[m] for m in MODES],
            edgecolor=["black" if m == rec.mode else "none" for m in MODES],
            linewidth=2,
        )
        for bar, mode, value in zip(bars, MODES, values, strict=True):
            label = format_usd(value)
            if mode in excluded:
                label += "\n(ruled out)"
            elif mode == rec.mode:
                label += "\nrecommended"
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_ylabel("USD per month")
        ax.set_title("Monthly cost of this workload by mode", fontsize=10)
        ax.set_ylim(0, max(values) * 1.3 if max(values) > 0 else 1)
        ax.spines[["top", "right"]].set_visible(False)
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=0.88)  # tight_layout is slow
        self.cost_chart.value = _png(fig)
        self.plot_data["costs_usd"] = {m: round(v, 4) for m, v in zip(MODES, values, strict=True)}
        self.plot_data["highlighted"] = rec.mode

    def _render_traffic(self, rec: Recommendation) -> None:
        workload = rec.workload
        rpd = max(workload.requests_per_day, 1.0)
        lo = min(1.0, rpd / 100.0)
        hi = max(1e7, rpd * 100.0)
        xs = np.logspace(np.log10(lo), np.log10(hi), self.curve_points).tolist()
        options = options_for(workload, self.options())
        modes = [m for m in MODES if m != "batch" or workload.latency == "offline"]
        curve = cost_curve(workload.traffic(), xs, options, self.prices, modes)
        excluded = rec.excluded_modes()
        fig = Figure(figsize=(5.6, 3.2), dpi=100)
        ax = fig.add_subplot()
        floor = 0.01  # log axis: show anything under a cent as a cent
        for mode in modes:
            style = "--" if mode in excluded else "-"
            ax.plot(
                xs,
                [max(v, floor) for v in curve[mode]],
                style,
                color=MODE_COLOURS[mode],
                linewidth=3.2 if mode == "realtime" else 1.6,  # wide: visible under equal costs
                alpha=0.45 if mode in excluded else 1.0,
                label=MODE_SHORT[mode] + (" (ruled out)" if mode in excluded else ""),
            )
        ax.scatter(
            [rpd] * len(modes),
            [max(rec.monthly_usd[m], floor) for m in modes],
            color=[MODE_COLOURS[m] for m in modes],
            zorder=3,
            s=22,
            edgecolor="black",
        )
        ax.axvline(rpd, color="black", linewidth=1, linestyle=":")
        ax.annotate("you", (rpd, ax.get_ylim()[1]), fontsize=8, ha="left", va="top")
        crossover = rec.crossover_requests_per_day
        ceiling = rec.serverless_ceiling_requests_per_day
        if crossover and lo <= crossover <= hi:
            ax.axvline(crossover, color=MODE_COLOURS["serverless"], linewidth=1, linestyle="-.")
            ax.annotate(
                f"serverless stops being\ncheaper: ~{crossover:,.0f}/day",
                (crossover, 0.02),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                ha="right",
                va="bottom",
            )
        elif "serverless" in modes and "serverless" not in excluded:
            ax.annotate(
                "serverless stays cheaper than real-time across this range",
                (0.99, 0.02),
                xycoords="axes fraction",
                fontsize=7,
                ha="right",
                va="bottom",
            )
        if ceiling and lo <= ceiling <= hi and "serverless" in modes:
            ax.axvline(ceiling, color="#b22222", linewidth=1, linestyle=":")
            ax.annotate(
                f"serverless throttles\nabove ~{ceiling:,.0f}/day\n(MaxConcurrency 200)",
                (ceiling, 0.98),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                ha="right",
                va="top",
                color="#b22222",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("requests per day (log scale)")
        ax.set_ylabel("USD per month (log scale)")
        ax.set_title("Cost as traffic grows (other inputs fixed)", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        ax.spines[["top", "right"]].set_visible(False)
        fig.subplots_adjust(left=0.14, right=0.97, bottom=0.16, top=0.88)
        self.traffic_chart.value = _png(fig)
        self.plot_data["curve"] = {
            "requests_per_day": [round(x, 3) for x in xs],
            **{m: [round(v, 4) for v in curve[m]] for m in modes},
        }
        self.plot_data["user_point"] = {
            "requests_per_day": workload.requests_per_day,
            **{m: round(rec.monthly_usd[m], 4) for m in modes},
        }
        self.plot_data["crossover_requests_per_day"] = (
            None if crossover is None else round(crossover)
        )
        self.plot_data["serverless_ceiling_requests_per_day"] = (
            None if ceiling is None else round(ceiling)
        )

    # -- display -----------------------------------------------------------------------------

    def summary(self) -> str:
        """One line: what is recommended and what it costs (the helper's plain-text form)."""
        rec = self.recommendation
        if rec.mode is None:
            return "Decision helper: no SageMaker inference mode fits this workload."
        usd = format_usd(rec.ranked[0].monthly_usd)
        return f"Decision helper: {rec.label} recommended, about {usd} a month."

    def _workload_html(self) -> str:
        w, opts = self.recommendation.workload, self.recommendation.options
        latency = LATENCY_LABELS[w.latency]
        if w.latency == "interactive":
            latency += f", p99 within {w.latency_budget_ms:,.0f} ms"
        items = [
            f"{w.requests_per_day:,.0f} requests per day, {SHAPES[w.traffic_shape].label.lower()}",
            f"payload {w.payload_kb:,.1f} KB, {w.processing_ms:,.0f} ms of processing per request",
            latency,
            "a user waits for each answer" if w.user_waits else "nobody waits for an answer",
            f"model {w.model_size_mb:,.0f} MB{', needs a GPU' if w.needs_gpu else ''}",
            f"{opts.instance_type}, serverless {opts.serverless_memory_mb} MB, "
            f"provisioned concurrency {opts.provisioned_concurrency}",
        ]
        return "<b>Your workload</b><ul>" + "".join(
            f"<li>{html.escape(i)}</li>" for i in items
        ) + "</ul>"

    def static_html(self) -> str:
        """The helper as it is now, as HTML that needs no kernel: inputs, answer and both charts."""
        charts = "".join(
            f'<img src="data:image/png;base64,{base64.b64encode(bytes(image.value)).decode()}" '
            f'alt="{alt}" style="max-width:49%">'
            for image, alt in (
                (self.cost_chart, "Monthly cost of this workload by mode (USD per month)"),
                (self.traffic_chart, "Monthly cost by mode as requests per day grow"),
            )
        )
        return (
            '<div class="decision-helper-static">'
            "<p><i>The decision helper as the notebook left it (a snapshot: run the notebook to "
            "change the inputs).</i></p>"
            f"{self._workload_html()}{self.recommendation_html.value}{self.warnings_html.value}"
            f"{self.reasons_html.value}{self.exclusions_html.value}<div>{charts}</div>"
            f"{self.prices_html.value}</div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live widget, a static HTML snapshot beside it, and a one-line text form.

        A front end with a kernel shows the widget; one without (GitHub, nbviewer, a JupyterLab
        that has not run the cell) shows the snapshot instead of a widget placeholder.
        """
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = self.summary()
        return bundle


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def decision_helper(
    workload: Workload | None = None,
    options: DeploymentOptions | None = None,
    prices: PriceTable | None = None,
) -> DecisionHelper:
    """Build the decision helper; display `helper.widget`, read `helper.state()`."""
    return DecisionHelper(workload, options, prices)


__all__ = ["MODE_LABELS", "DecisionHelper", "decision_helper"]
