"""Render a :class:`Leaderboard` as a terminal table, Markdown and HTML.

Pure string functions, no MLflow: the same rows give the same text everywhere. Reference
rows (published numbers, not runs on this server) follow a dataset's ranked runs under
their own heading, so nobody mistakes them for measurements of ours.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping

from recsys.tracking import names
from recsys.tracking.leaderboard.rows import (
    DEFAULT_RANK_BY,
    DatasetTable,
    Leaderboard,
    LeaderboardRow,
)
from recsys.tracking.names import dataset_label
from recsys.tracking.run_info import settings_in_variant

# (header, metric) of the metric columns: the study's protocol, degree-matched, ranking.
METRIC_COLUMNS = (
    ("AUC all", "auc_all"),
    ("AUC seen", "auc_seen"),
    ("cold-start AUC", "auc_cold_start"),
    ("matched all", "matched_auc_all"),
    ("matched seen", "matched_auc_seen"),
    ("recall@10", "recall_at_10"),
    ("NDCG@10", "ndcg_at_10"),
)


def metric_columns(rank_by: str = DEFAULT_RANK_BY) -> tuple[tuple[str, str], ...]:
    """The metric columns, plus the ranking metric's own when it is not among them
    (``pr_auc``, ``mrr``, ...): a table is never ranked by a column it does not show."""
    if any(metric == rank_by for _, metric in METRIC_COLUMNS):
        return METRIC_COLUMNS
    return (*METRIC_COLUMNS, (rank_by, rank_by))


def headers(rank_by: str = DEFAULT_RANK_BY) -> list[str]:
    """The header cells of a table ranked by ``rank_by``."""
    metrics = [h for h, _ in metric_columns(rank_by)]
    return ["#", "method", *metrics, "minutes", "seeds", "vs #1", "run id"]


def right_aligned(rank_by: str = DEFAULT_RANK_BY) -> set[int]:
    """Column indices of numbers: the rank, the metrics and the minutes."""
    return {0, *range(2, 3 + len(metric_columns(rank_by)))}


METRICS_WITHOUT_INTERVAL = (names.METRIC_PR_AUC,)  # evaluation gives AUCs DeLong intervals
MISSING = "-"
BASELINE_MARK = " [baseline]"


def _number(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _with_interval(row: LeaderboardRow, metric: str) -> str:
    """``0.9123±0.0021``: the value and half its 95% interval, when the run logged one."""
    value = row.value(metric)
    if value is None:
        return MISSING
    interval = row.interval(metric)
    if interval is None:
        return f"{value:.4f}"
    return f"{value:.4f}±{(interval[1] - interval[0]) / 2:.4f}"


def _versus_leader(row: LeaderboardRow, rank: int | None) -> str:
    if rank is None:
        return ""
    if rank == 1:
        return "leader"
    return "tied" if row.tied else ""


def _seeds(row: LeaderboardRow, rank_by: str) -> str:
    """``3 sd 0.0012``: runs averaged and the sd of the ranking metric over them."""
    if row.is_reference:
        return ""
    if row.n_seeds == 1:
        return "1"
    spread = row.spread.get(rank_by)
    return f"{row.n_seeds}" + ("" if spread is None else f" sd {spread:.4f}")


def _settings(row: LeaderboardRow) -> str:
    """`` {preset=study, lr=0.002}`` after the method: a row is its method's best run over
    any settings, so one away from the defaults says which (tuned runs say "tuned")."""
    if not row.settings or row.tuned:
        return ""
    said = settings_in_variant(row.method, row.variant)
    shown = ", ".join(s for s in row.settings.split(", ") if s not in said)
    return f" {{{shown}}}" if shown else ""


def row_cells(row: LeaderboardRow, rank: int | None, rank_by: str = DEFAULT_RANK_BY) -> list[str]:
    """A row's cells; reference rows show their source where a run id would be."""
    return [
        "ref" if rank is None else str(rank),
        row.label + (BASELINE_MARK if row.is_baseline else "") + _settings(row),
        *(_with_interval(row, metric) for _, metric in metric_columns(rank_by)),
        _number(row.minutes, 2),
        _seeds(row, rank_by),
        _versus_leader(row, rank),
        f"({row.source})" if row.is_reference else row.run_id,
    ]


def _table_cells(table: DatasetTable, rank_by: str) -> tuple[list[list[str]], list[list[str]]]:
    runs = [row_cells(row, rank, rank_by) for rank, row in enumerate(table.rows, start=1)]
    refs = [row_cells(row, None, rank_by) for row in table.references]
    return runs, refs


def dataset_heading(table: DatasetTable) -> str:
    """The dataset's short name, with the file it came from when it was given as a path."""
    label = dataset_label(table.dataset)
    return label if label == table.dataset else f"{label} ({table.dataset})"


def _title(table: DatasetTable, rank_by: str) -> str:
    return (
        f"{dataset_heading(table)}: best finished run of {len(table.rows)} method(s) "
        f"out of {table.n_runs} run(s), ranked by {rank_by}. AUC all / seen / cold "
        "start: the study's protocol (negatives uniform over validation products); matched: "
        "degree-matched negatives; recall@10, NDCG@10 over the whole catalog; ±: half the 95% "
        "interval; {...}: the run's settings away from its method's defaults; seeds: runs "
        "averaged (sd of the ranking metric); tied: the interval of the ranking metric "
        "overlaps the leader's"
    )


# (label, data.<key>, how to show it) of the statistics line under a dataset's table.
STATISTICS_SHOWN = (
    ("products", "products", "count"),
    ("pairs", "pairs", "count"),
    ("degree-1", "degree1_share", "percent"),
    ("seen", "seen_share", "percent"),
    ("cold-start", "cold_start_share", "percent"),
    ("clustering", "clustering", "fraction"),
)


def statistics_line(table: DatasetTable) -> str:
    """``data: 62,306 products, 92,058 pairs, degree-1 28.4%, ...`` from the dataset's
    ``data.*`` metrics (see recsys.data.statistics); empty when no run logged them."""
    parts = []
    for label, key, kind in STATISTICS_SHOWN:
        value = table.statistics.get(key)
        if value is None or not math.isfinite(value):
            continue
        if kind == "count":
            parts.append(f"{int(value):,} {label}")
        elif kind == "percent":
            parts.append(f"{label} {100 * value:.1f}%")
        else:
            parts.append(f"{label} {value:.3f}")
    if not parts:
        return ""
    sampled = table.statistics.get("clustering_sampled_nodes")
    note = f"; clustering on {int(sampled):,} sampled products" if sampled else ""
    return f"data: {', '.join(parts)} (seen, cold-start: of validation positives{note})"


def other_data_line(table: DatasetTable) -> str:
    """Why some runs under the dataset's name are not in its table; empty when none were left
    out."""
    if not table.other_data_runs:
        return ""
    return (
        f"{table.other_data_runs} older run(s) under this name left out: scored on other data "
        f"(the file's content or a data setting changed since; tag {names.TAG_DATA_KEY})"
    )


def no_interval_line(table: DatasetTable, rank_by: str) -> str:
    """Says that no row can be marked tied: the ranking metric has no 95% interval
    (``pr_auc``), or none of the table's runs logged one; empty otherwise."""
    if rank_by in METRICS_WITHOUT_INTERVAL:
        return f"{rank_by} has no 95% interval: ties cannot be marked"
    if len(table.rows) < 2 or any(row.interval(rank_by) for row in table.rows):
        return ""
    return f"no run logged a 95% interval of {rank_by}: ties cannot be marked"


def notes(table: DatasetTable, rank_by: str) -> list[str]:
    """The lines under a dataset's table: its data's statistics, runs left out, ties that
    cannot be marked."""
    lines = (statistics_line(table), other_data_line(table), no_interval_line(table, rank_by))
    return [line for line in lines if line]


def unranked_lines(board: Leaderboard) -> list[str]:
    """One line per dataset with runs but no table: none of them logs the ranking metric."""
    metric = board.rank_by
    why = (
        "no cold-start slice: no validation pair of unseen products that both have metadata"
        if metric.endswith(names.METRIC_AUC_COLD_START)
        else "runs that do not log it, e.g. from before it was logged"
    )
    return [
        f"{n_runs} run(s) of {dataset_label(dataset)}, none logs {metric} ({why}); rank them "
        f"by another metric, e.g. --rank-by {DEFAULT_RANK_BY}"
        for dataset, n_runs in board.unranked.items()
    ]


def _hidden_lines(board: Leaderboard) -> list[str]:
    return [f"not shown: {line}" for line in unranked_lines(board)]


def format_text(board: Leaderboard) -> str:
    """A plain aligned table per dataset, for the terminal."""
    if board.is_empty:
        return empty_message(board.tracking_uri)
    blocks = [f"Leaderboard from {board.tracking_uri}"]
    for table in board.tables:
        runs, refs = _table_cells(table, board.rank_by)
        head = headers(board.rank_by)
        numbers = right_aligned(board.rank_by)
        widths = [max(len(c[i]) for c in [head, *runs, *refs]) for i in range(len(head))]

        def line(cells: list[str], widths: list[int] = widths, numbers: set[int] = numbers) -> str:
            padded = [
                c.rjust(w) if i in numbers else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(padded).rstrip()

        rule = "  ".join("-" * w for w in widths)
        lines = ["", _title(table, board.rank_by), line(head), rule, *(line(c) for c in runs)]
        if refs:
            lines += [rule, "published reference numbers (not runs on this server):"]
            lines += [line(c) for c in refs]
        lines += notes(table, board.rank_by)
        blocks.append("\n".join(lines))
    if board.unranked:
        blocks.append("\n" + "\n".join(_hidden_lines(board)))
    return "\n".join(blocks) + "\n"


def format_markdown(board: Leaderboard) -> str:
    """GitHub-flavoured Markdown: a heading and a table per dataset."""
    if board.is_empty:
        return empty_message(board.tracking_uri)
    out = ["# Leaderboard", "", f"Tracking server: `{board.tracking_uri}`"]
    for table in board.tables:
        runs, refs = _table_cells(table, board.rank_by)
        head = headers(board.rank_by)
        numbers = right_aligned(board.rank_by)
        align = ["---:" if i in numbers else ":---" for i in range(len(head))]
        out += ["", f"## {dataset_heading(table)}", "", _title(table, board.rank_by), ""]
        out.append("| " + " | ".join(head) + " |")
        out.append("| " + " | ".join(align) + " |")
        out += ["| " + " | ".join(cells) + " |" for cells in runs]
        if refs:
            out += ["", "Published reference numbers (not runs on this server):", ""]
            out.append("| " + " | ".join(head) + " |")
            out.append("| " + " | ".join(align) + " |")
            out += ["| " + " | ".join(cells) + " |" for cells in refs]
        for note in notes(table, board.rank_by):
            out += ["", note]
    out += [item for line in _hidden_lines(board) for item in ("", line)]
    return "\n".join(out) + "\n"


def format_html(board: Leaderboard, images: Mapping[str, bytes] | None = None) -> str:
    """A standalone HTML page; reference rows are shaded and italic.

    ``images`` (file name -> PNG bytes) are embedded after the tables as data URIs, so the
    page shows the figures wherever it is opened, MLflow's artifact view included.
    """
    style = (
        "body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:4px 8px}td.num{text-align:right}"
        "tr.ref{background:#f3f3f3;font-style:italic}"
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html><head><meta charset="utf-8"><title>Leaderboard</title><style>{style}</style>'
        "</head><body>",
        f"<h1>Leaderboard</h1><p>Tracking server: <code>{html.escape(board.tracking_uri)}</code>",
    ]
    if board.is_empty:
        parts.append(f"<p>{html.escape(empty_message(board.tracking_uri))}</p>")
    for table in board.tables:
        runs, refs = _table_cells(table, board.rank_by)
        title = _title(table, board.rank_by)
        parts.append(f"<h2>{html.escape(dataset_heading(table))}</h2><p>{html.escape(title)}</p>")
        numbers = right_aligned(board.rank_by)
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers(board.rank_by))
        parts.append(f"<table><tr>{head}</tr>")
        for css, rows in (("run", runs), ("ref", refs)):
            for cells in rows:
                tds = "".join(
                    f'<td class="{"num" if i in numbers else "txt"}">{html.escape(c)}</td>'
                    for i, c in enumerate(cells)
                )
                parts.append(f'<tr class="{css}">{tds}</tr>')
        parts.append("</table>")
        parts += [f"<p>{html.escape(note)}</p>" for note in notes(table, board.rank_by)]
    parts += [f"<p>{html.escape(line)}</p>" for line in _hidden_lines(board)]
    for file_name, png in (images or {}).items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<h3>{html.escape(file_name)}</h3><img alt="{html.escape(file_name)}" '
            f'style="max-width:100%" src="data:image/png;base64,{data}">'
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def empty_message(tracking_uri: str, dataset: str | None = None) -> str:
    """What to print when there is nothing to rank, and what to do about it."""
    what = f"of dataset {dataset!r} " if dataset else ""
    return (
        f"No finished method runs {what}on {tracking_uri}: the leaderboard is empty.\n"
        "Train something first, e.g. `recsys main` or `recsys train popularity`, "
        "and check MLFLOW_TRACKING_URI / --tracking-uri points at the right server.\n"
    )
