"""Curves of a training run as Altair charts: readable labels, the legend below, a loss axis that
does not start at zero (the interesting part of a loss curve is near its floor). No widgets."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.metrics import TABLE_HEADERS, TABLE_KEYS

LABELS = {"train_loss": "train loss", "val_loss": "validation loss",
          "samples_per_s": "samples/s", "time_s": "seconds", **dict(zip(TABLE_KEYS, TABLE_HEADERS,
                                                                          strict=True))}
HEIGHT = 280  # pixels


def label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " "))


def curve_chart(frame: pd.DataFrame, columns: list[str], *, zero: bool,
                best_epoch: int | None = None) -> alt.LayerChart | alt.Chart:
    """One line per column over the epochs (frame indexed by epoch); a rule at the best epoch."""
    long = (frame[columns].rename(columns=label).reset_index()
            .melt("epoch", var_name="series", value_name="value").dropna())
    lines = alt.Chart(long).mark_line(point=len(frame) < 40).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=zero)),
        color=alt.Color("series:N", legend=alt.Legend(orient="bottom", title=None, columns=3)),
        tooltip=["epoch:Q", "series:N", alt.Tooltip("value:Q", format=".4f")],
    ).properties(height=HEIGHT)
    if not best_epoch:
        return lines
    rule = alt.Chart(pd.DataFrame({"epoch": [best_epoch]})).mark_rule(
        strokeDash=[4, 4], color="#888").encode(x="epoch:Q")
    return alt.layer(lines, rule)


def ap_bar_chart(frame: pd.DataFrame) -> alt.Chart:
    """Horizontal bars of per-tag AP in the frame's order, every tag labelled."""
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("AP:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tag:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=["tag:N", alt.Tooltip("AP:Q", format=".3f")],
    ).properties(height=max(120, 18 * len(frame)))
