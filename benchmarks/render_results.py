"""Render ``docs/results.md``, the current figures, from the benchmarks' JSON results.

Each benchmark run with ``--json docs/results/<benchmark>.json`` leaves its figures and
their provenance (``benchmarks/results.py``); this script turns them into one page, a
short section per question, each table headed by its date, machine, commit and the
command that regenerates it. A result not there yet renders as "not yet measured" with the
command to run. The page depends on the JSON files alone, so it can be checked:

    python benchmarks/render_results.py            # write docs/results.md
    python benchmarks/render_results.py --check    # exit 1 when the page is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from results import REPO_ROOT, command_line

RESULTS_DIR = REPO_ROOT / "docs" / "results"
PAGE = REPO_ROOT / "docs" / "results.md"
ELECTRONICS_PRODUCTS = 418_749

Lines = list[str]


@dataclass(frozen=True)
class Result:
    """One benchmark's table on the page: where its JSON lives and how it renders."""

    benchmark: str  # the script's name, and the JSON's: docs/results/<benchmark>.json
    title: str
    render: Callable[[dict[str, Any]], Lines]

    def command(self) -> str:
        """The command that writes the result, at the benchmark's default settings."""
        return f"python benchmarks/{self.benchmark}.py --json docs/results/{self.benchmark}.json"


def markdown_table(header: list[str], align: str, rows: list[list[str]]) -> Lines:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r``."""
    rules = ["---:" if a == "r" else "---" for a in align]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(rules) + " |",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def older_intervals_note(document: dict[str, Any]) -> str:
    """A sentence for results measured before AUC intervals counted pairs sharing a
    product (their provenance does not name ``auc_intervals``): narrower, so fewer ties."""
    if document.get("provenance", {}).get("auc_intervals"):
        return ""
    return (
        " Its AUC intervals take validation pairs as independent (DeLong's, measured before "
        "intervals counted pairs sharing a product, which were 1.1-2.9x wider on "
        "synthetic-small and Digital Music): read its ties as too few."
    )


def provenance_lines(document: dict[str, Any], result: Result) -> Lines:
    """When, where and at which commit it was measured, and the command that does it again."""
    found = document.get("provenance")
    if not found:
        return [
            "Date, machine and command not recorded; this records them:",
            "",
            f"    {result.command()}",
        ]
    machine = found["machine"]
    where = f"{machine['cpu']}, {machine['cores']} cores"
    usable = machine.get("usable_cores")
    if usable is not None and usable != machine["cores"]:
        where += f" ({usable} usable)"
    gpus = machine.get("gpus") or []
    where += ", GPU: " + ", ".join(gpus) if gpus else ", no GPU"
    commit = found.get("git_commit") or "no git"
    if found.get("git_dirty"):
        commit += " with uncommitted changes"
    date = found["date"].replace("T", " ").removesuffix("Z")[:16]
    return [
        f"Measured {date} UTC on {where}; commit {commit}:",
        "",
        f"    {command_line(found['argv'])}",
    ]


def measured_at(
    rows: list[dict[str, Any]], document: dict[str, Any]
) -> tuple[list[str], Callable[[dict[str, Any]], list[str]]]:
    """A "measured at" column when some row names a commit other than the document's own
    (rows kept by a resumed or partial run, ``RowLog``): its header and a row's cell;
    nothing when every row was measured at the commit the heading names."""
    own = document.get("provenance", {}).get("git_commit")
    if all(row.get("git_commit", own) == own for row in rows):
        return [], lambda row: []
    return ["measured at"], lambda row: [row.get("git_commit") or "-"]


def render_defaults(document: dict[str, Any]) -> Lines:
    """bench_defaults: AUC under both protocols and minutes; the best per dataset in bold."""
    rows = document["results"]
    commit, commit_of = measured_at(rows, document)
    columns = ("auc_all", "auc_seen", "matched_auc_all", "matched_auc_seen")
    best = {
        (row["dataset"], key): max(r[key] for r in rows if r["dataset"] == row["dataset"])
        for row in rows
        for key in columns
    }

    def cell(row: dict[str, Any], key: str) -> str:
        text = f"{row[key]:.4f}"
        return f"**{text}**" if row[key] == best[(row["dataset"], key)] else text

    def optional(row: dict[str, Any], key: str, text: str) -> str:
        value = row.get(key)
        return "-" if value is None else text.format(value)

    table = [
        [
            row["dataset"],
            row["variant"],
            *(cell(row, k) for k in columns),
            optional(row, "auc_cold_start", "{:.4f}"),
            optional(row, "recall_at_10", "{:.4f}"),
            f"{row['minutes']:.2f}",
            optional(row, "pairs_per_second", "{:,.0f}"),
            *commit_of(row),
        ]
        for row in rows
    ]
    header = ["dataset", "method", "AUC all", "AUC seen", "matched all", "matched seen"]
    header += ["cold start", "recall@10", "minutes", "pairs/s", *commit]
    note = (
        "AUC all / seen under the study's negatives (uniform over the validation products) "
        "and under degree-matched ones, the best per dataset in bold; cold start: the "
        "study's AUC on pairs with a product unseen in training (0.5 for id-only methods); "
        "recall@10: over the whole catalog, as `recsys train` logs it (- where not measured); "
        "pairs/s: the torch methods' median training pairs per second over their epochs."
    )
    return [note, "", *markdown_table(header, "llrrrrrrrr" + "l" * len(commit), table)]


def render_leaderboard(document: dict[str, Any]) -> Lines:
    """bench_leaderboard: every method per real sample, both protocols, ranking, minutes."""
    columns = ("auc_all", "auc_seen", "matched_auc_all", "matched_auc_seen", "recall_at_10")

    def cell(row: dict[str, Any], key: str) -> str:
        value, half = row.get(key), row.get(f"{key}_half_interval")
        if value is None:
            return "-"
        return f"{value:.4f}" + (f"±{half:.4f}" if half is not None else "")

    lines = [
        f"`recsys main`: every method at its defaults, one seed, ranked by "
        f"{document['rank_by']}; ±: half the 95% interval; *tied*: its interval of the ranking "
        "metric overlaps the leader's; [baseline]: popularity and the graph baselines, what the "
        "embeddings must beat." + older_intervals_note(document),
    ]
    for result in document["results"]:
        table = []
        for row in result["rows"]:
            label = row["method"] + (" [baseline]" if row["baseline"] else "")
            label += " *tied*" if row["tied"] else ""
            minutes = "-" if row["minutes"] is None else f"{row['minutes']:.2f}"
            table.append([label, *(cell(row, key) for key in columns), minutes])
        header = ["method", "AUC all", "AUC seen", "matched all", "matched seen", "recall@10",
                  "minutes"]  # fmt: skip
        lines += [
            "",
            f"**{result['dataset']}** ({result['wall_minutes']:.1f} min for the whole job):",
            "",
            *markdown_table(header, "lrrrrrr", table),
        ]
    return lines


METRIC_LABELS = {"auc_all": "AUC all", "auc_seen": "AUC seen", "matched_auc_all": "matched all",
                 "matched_auc_seen": "matched seen", "recall_at_10": "recall@10"}  # fmt: skip


def render_tuning(document: dict[str, Any]) -> Lines:
    """bench_tuning: each method's tuned run beside its default run; workers' trials/min."""

    def cell(scores: dict[str, Any], key: str) -> str:
        value, half = scores.get(key), scores.get(f"{key}_half_interval")
        if value is None:
            return "-"
        return f"{value:.4f}" + (f"±{half:.4f}" if half is not None else "")

    # Results written before the field existed were tuned for auc_seen, tune's default then.
    objective = document.get("objective", "auc_seen")

    def verdict(row: dict[str, Any], metric: str) -> str:
        default, tuned = row["default"], row["tuned"]
        if default.get(metric) is None or tuned.get(metric) is None:
            return "-"
        half = f"{metric}_half_interval"
        low = [s[metric] - (s.get(half) or 0) for s in (default, tuned)]
        high = [s[metric] + (s.get(half) or 0) for s in (default, tuned)]
        if low[1] > high[0]:
            return "tuned better"
        if low[0] > high[1]:
            return "default better"
        return "tied"

    def side(scores: dict[str, Any]) -> list[str]:
        return [*(cell(scores, k) for k in document["metrics"]), f"{scores['minutes']:.1f}"]

    # The ranking floor also judges recall@10; results before it judged the objective only.
    judged = [objective] + (["recall_at_10"] if document.get("ranking_floor") else [])
    commit, commit_of = measured_at(document["results"], document)
    table = [
        [row["dataset"], row["method"], str(row["trials"]), *side(row["default"]),
         *side(row["tuned"]), *(verdict(row, m) for m in judged), *commit_of(row)]
        for row in document["results"]
    ]  # fmt: skip
    names = [METRIC_LABELS.get(m, m) for m in document["metrics"]]
    header = ["dataset", "method", "trials", *(f"default {n}" for n in names[:1]), *names[1:],
              "min", *(f"tuned {n}" for n in names[:1]), *names[1:], "min (sweep, run)",
              *(METRIC_LABELS.get(m, m) for m in judged), *commit]  # fmt: skip
    floor = (
        ", the first trial at the defaults and the best chosen among trials whose recall@10 "
        "there is at least theirs (`--ranking-floor`)"
        if document.get("ranking_floor")
        else ""
    )
    lines = [
        "`recsys train METHOD` at the defaults against `recsys tune METHOD --trials N` (trials "
        f"maximise `{objective}` on an inner split of the training pairs{floor}, then the best "
        "settings trained as a run), both scored on the same validation pairs; ±: half the 95% "
        "interval; tied: the intervals overlap." + older_intervals_note(document),
        "",
        *markdown_table(
            header, "llr" + "r" * (len(header) - 3 - len(commit)) + "l" * len(commit), table
        ),
    ]
    workers = document.get("workers")
    if workers:
        runs = workers["runs"]
        lines += [
            "",
            f"Scale-out, {workers['method']} on {workers['dataset']}, one study in "
            f"{workers.get('storage', 'one storage')}: "
            + "; ".join(
                f"{r['workers']} worker(s) {r['trials']} trials in {r['minutes']:.1f} min "
                f"({r['trials_per_minute']:.2f} trials/min)"
                for r in runs
            )
            + " (workers on one machine share its cores).",
        ]
    return lines


def render_skipgram(document: dict[str, Any]) -> Lines:
    """bench_skipgram: pairs/s per trainer and ours over gensim's."""
    rows = document["results"]
    gensim = next((r for r in rows if r["trainer"].startswith("gensim")), None)
    table = []
    for row in rows:
        ratio = (
            "-"
            if gensim is None
            else f"{row['pairs_per_second'] / gensim['pairs_per_second']:.2f}x"
        )
        table.append(
            [
                row["trainer"],
                row["window"],
                f"{row['pairs'] / 1e6:.1f}M",
                f"{row['seconds']:.1f}",
                f"{row['pairs_per_second'] / 1e6:.3f}M",
                ratio,
            ]
        )
    header = ["trainer", "window", "pairs/epoch", "s/epoch", "pairs/s", "vs gensim"]
    note = f"One epoch of skip-gram with negative sampling on {document['source']}."
    return [note, "", *markdown_table(header, "llrrrr", table)]


def render_formats(document: dict[str, Any]) -> Lines:
    """bench_formats: each reader's input, time and rate."""
    table = [
        [
            row["reader"],
            row["input"],
            f"{row['seconds']:.2f} s",
            f"{row['per_second']:,.0f} {row['unit']}/s",
            row["result"],
        ]
        for row in document["results"]
    ]
    header = ["reader", "input", "read", "rate", "result"]
    return markdown_table(header, "llrrl", table)


def render_ranking(document: dict[str, Any]) -> Lines:
    """bench_ranking: exact whole-catalog ranking, seconds and peak memory."""
    lines = []
    if document["items"] < ELECTRONICS_PRODUCTS:
        lines += [
            f"A small setting ({document['items']:,} products), not Electronics scale "
            f"({ELECTRONICS_PRODUCTS:,} products, for which the budget is 60 s on 2 cores).",
            "",
        ]
    table = [
        [
            f"{document['items']:,}",
            str(document["dim"]),
            f"{document['queries']:,}",
            f"{document['held_out_per_query']:.2f}",
            document["scoring"],
            f"{document['seconds']:.2f} s",
            f"{document['seconds_first']:.2f} s",
            f"{document['peak_rss_mb']:,} MB",
        ]
    ]
    header = ["products", "dim", "queries", "held out / query", "scoring", "ranking",
              "first call", "peak RSS"]  # fmt: skip
    return lines + markdown_table(header, "rrrrlrrr", table)


def render_evaluation(document: dict[str, Any]) -> Lines:
    """bench_evaluation: pair scores, an epoch's and a final evaluation's pair metrics and
    CSLS, seconds."""
    epoch = document.get("epoch_metrics_center_context_s")
    table = [
        ["pair scores, one table", f"{document['pairs']:,} pairs",
         f"{document['pair_scores_one_table_s']:.2f} s"],
        ["pair scores, center and context", f"{document['pairs']:,} pairs",
         f"{document['pair_scores_center_context_s']:.2f} s"],
        ["an epoch's metrics (both protocols)",
         f"{document['validation_rows']:,} validation rows" if epoch is not None else "",
         f"{epoch:.2f} s" if epoch is not None else "not timed (no --dataset-folder)"],
        ["CSLS's r", f"{document['items']:,} products", f"{document['csls_r_s']:.2f} s"],
    ]  # fmt: skip
    final = document.get("final_pair_metrics_center_context_s")
    if final is not None:  # absent from results measured before it was timed
        rows = f"{document['validation_rows']:,} validation rows"
        name = "a final evaluation's pair metrics (curves, AUCs, intervals)"
        table.insert(3, [name, rows, f"{final:.2f} s"])
    lines = [
        f"{document['items']:,} products, dim {document['dim']}, random tables; best of "
        f"the timed calls after a compiling one; peak RSS {document['peak_rss_mb']:,} MB.",
        "",
    ]
    return lines + markdown_table(["part", "size", "seconds"], "llr", table)


def render_serving(document: dict[str, Any]) -> Lines:
    """bench_serving: requests/s, latency per request kind, errors, server memory."""
    load, rss = document["load"], document["server_rss_mb"]
    rows_per_request = {
        "pairs": document["pairs_per_request"],
        "top-k": document["queries_per_request"],
    }
    table = []
    for kind, figures in load["kinds"].items():
        table.append(
            [kind, f"{figures['requests']:,}", str(rows_per_request.get(kind, "-")),
             str(figures["p50_ms"]), str(figures["p99_ms"]), str(figures["mean_ms"])]
        )  # fmt: skip
    header = ["request", "requests", "rows each", "p50 ms", "p99 ms", "mean ms"]
    stopped = " (stopped by --max-seconds)" if load["stopped_by_deadline"] else ""
    return [
        f"`mlflow models serve` of {document['method']} on {document['dataset']}, "
        f"{document['workers']} workers, {document['clients']} clients.",
        "",
        *markdown_table(header, "lrrrrr", table),
        "",
        f"{load['requests_per_second']} requests/s over {load['seconds']} s{stopped}; "
        f"errors {load['errors']} (warm-up {document['warmup_errors']}); server RSS "
        f"{rss['after_warmup']} MB after warm-up, peak {load['rss_peak_mb']} MB, "
        f"{rss['growth']:+} MB over the load.",
        *rss_trend_lines(load.get("rss_trend")),
    ]


def rss_trend_lines(trend: dict[str, float] | None) -> Lines:
    """Whether the server's memory levels off (results with an RSS trace only)."""
    if not trend:
        return []
    return [
        "",
        f"Server RSS at 25 / 50 / 75 / 100% of the requests: {trend['rss_at_25_percent_mb']} / "
        f"{trend['rss_at_50_percent_mb']} / {trend['rss_at_75_percent_mb']} / "
        f"{trend['rss_at_end_mb']} MB; peak {trend['first_half_peak_mb']} MB in the first "
        f"half, {trend['second_half_peak_mb']} MB in the second; the second half's slope "
        f"{trend['second_half_slope_mb_per_10k_requests']:+} MB per 10,000 requests.",
    ]


def render_scale(document: dict[str, Any]) -> Lines:
    """bench_scale: peak memory and time per stage and size, and the fitted ceilings."""
    rows, fitted = document["rows"], document["ceilings"]
    stages = list(rows[0]["stages"])
    table = []
    for stage in stages:
        for row in rows:
            figures = row["stages"][stage]
            seconds = figures.get("seconds", figures.get("wall_seconds"))
            auc = f"{figures['auc_seen']:.4f}" if "auc_seen" in figures else "-"
            table.append(
                [
                    stage,
                    f"{row['products']:,}",
                    f"{row['pairs']:,}",
                    f"{seconds:,.1f} s",
                    f"{figures['peak_rss_mib']:,} MiB",
                    auc,
                ]
            )
    header = ["stage", "products", "pairs", "wall", "peak RSS", "AUC seen"]
    budget_gib = document["budget_mib"] / 1024
    ceiling_rows = [
        [stage, f"{fit['mib_per_million_products']:,.0f} MiB", f"{fit['fixed_mib']:,.0f} MiB",
         f"{fit['ceiling_products'] / 1e6:.1f}M", f"{fit['ceiling_pairs'] / 1e6:.0f}M"]
        for stage, fit in fitted.items()
    ]  # fmt: skip
    ceiling_header = ["stage", "per 1M products", "fixed", "products", "pairs"]
    loads = [row["load_average"] for row in rows if "load_average" in row]
    cores = document["provenance"]["machine"]["cores"]
    busy = (
        f" Wall times are upper bounds: the machine was shared (load average "
        f"{', '.join(f'{load:g}' for load in loads)} on its {cores} cores)."
        if loads and max(loads) > 2.5
        else ""
    )
    return [
        f"synthetic {document['preset']} at {len(rows)} sizes; each stage in its own process "
        f"(training: `recsys train` end to end, {document['epochs']} epoch, walks and the "
        f"whole-catalog evaluation included).{busy}",
        "",
        *markdown_table(header, "lrrrrr", table),
        "",
        f"Ceilings on this machine's {budget_gib:.0f} GiB: peak RSS fitted as fixed + per "
        "product over the sizes above and solved for the budget. Extrapolated, not measured "
        "at the ceiling: a stage whose memory grows faster than linearly stops earlier.",
        "",
        *markdown_table(ceiling_header, "lrrrr", ceiling_rows),
    ]


def _stat(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_share") and key != "max_degree_share":
        return f"{100 * value:.1f}%"
    if key == "max_degree_share":
        return f"{100 * value:.2f}%"
    if key == "clustering":
        return f"{value:.3f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.1f}"


def render_twins(document: dict[str, Any]) -> Lines:
    """bench_twins: statistics real vs twin vs presets, the match, rankings, generation."""
    samples, presets = document["samples"], document["presets"]
    header = ["statistic"]
    for row in samples:
        header += [row["sample"], "twin"]
    header += [p["dataset"] for p in presets]
    keys = list(samples[0]["real"])
    table = [
        [f"`{key}`"]
        + [_stat(key, row[side][key]) for row in samples for side in ("real", "twin")]
        + [_stat(key, p["statistics"][key]) for p in presets]
        for key in keys
    ]
    lines = [
        "Each real sample, its twin at scale 1.0 (`synthetic-like:FILE`) and the "
        "re-calibrated presets (study sizes, a sample's shape: "
        + ", ".join(f"{p['dataset']} from {p['sample']}" for p in presets)
        + "); `max_degree_share` is the largest degree over the pairs.",
        "",
        *markdown_table(header, "l" + "r" * (len(header) - 1), table),
        "",
    ]
    matched = document["matched"]
    # Rows kept from an earlier run (bench_twins --samples) name the commit that measured them.
    commit, commit_of = measured_at([*samples, *document["generation"]], document)
    match_rows = []
    for row in samples:
        ranking = row.get("ranking")
        rho = "-" if not ranking else f"{ranking['spearman']:.2f} ({len(ranking['methods'])})"
        match_rows.append(
            [row["sample"], *(f"{100 * row['relative_error'][k]:+.1f}%" for k in matched),
             "yes" if row["within_tolerance"] else "**no**", f"{row['fit_seconds']:.0f} s", rho,
             *commit_of(row)]
        )  # fmt: skip
    lines += [
        f"Twin minus real, relative (target: within {100 * document['tolerance']:.0f}%), the "
        "fit's time and the Spearman correlation of the methods' AUC seen on the sample and "
        "on its twin (`recsys main`; methods compared in brackets):",
        "",
        *markdown_table(
            ["sample", *matched, "within", "fit", "Spearman (methods)", *commit],
            "l" + "r" * len(matched) + "lrr" + "l" * len(commit),
            match_rows,
        ),
    ]
    for row in samples:
        ranking = row.get("ranking")
        if not ranking:
            continue
        pairs = zip(ranking["methods"], ranking["real_auc_seen"], ranking["twin_auc_seen"],
                    strict=True)  # fmt: skip
        lines += [
            "",
            f"AUC seen on {row['sample']} and its twin:",
            "",
            *markdown_table(
                ["method", row["sample"], "twin"],
                "lrr",
                [[m, f"{a:.4f}", f"{b:.4f}"] for m, a, b in pairs],
            ),
        ]
    if document["generation"]:
        lines += [
            "",
            "Generating a file (a fresh process; a twin's fit is made beforehand):",
            "",
            *markdown_table(
                ["dataset", "products", "pairs", "seconds", "peak RSS", "file", *commit],
                "lrrrrr" + "l" * len(commit),
                [[g["dataset"], f"{g['products']:,}", f"{g['pairs']:,}", f"{g['seconds']:.0f}",
                  f"{g['peak_rss_mb']:,} MB", f"{g['file_mb']:,.0f} MB",
                  *commit_of(g)]
                 for g in document["generation"]],
            ),
        ]  # fmt: skip
    return lines


SECTIONS: list[tuple[str, list[Result]]] = [
    (
        "Which method is best, per dataset and protocol",
        [
            Result("bench_leaderboard", "Every method on the real samples", render_leaderboard),
            Result("bench_defaults", "Defaults against gensim, real samples", render_defaults),
            Result("bench_tuning", "Tuned against default settings", render_tuning),
        ],
    ),
    (
        "Does synthetic data look like the real thing",
        [Result("bench_twins", "Synthetic twins of the real samples", render_twins)],
    ),
    (
        "Speed per stage vs its peer",
        [
            Result("bench_formats", "Reading input files", render_formats),
            Result("bench_skipgram", "Skip-gram training vs gensim", render_skipgram),
            Result("bench_ranking", "Ranking over the whole catalog", render_ranking),
            Result("bench_evaluation", "Scoring and metrics beside ranking", render_evaluation),
            Result("bench_serving", "Serving under load", render_serving),
        ],
    ),
    (
        "How large a catalog one machine handles",
        [Result("bench_scale", "Peak memory per stage and the ceilings", render_scale)],
    ),
]


def load_result(path: Path) -> dict[str, Any] | None:
    """A result's JSON (a bare list of rows read as ``{"results": rows}``); None if absent."""
    if not path.exists():
        return None
    document = json.loads(path.read_text())
    return {"results": document} if isinstance(document, list) else document


def render_result(result: Result, results_dir: Path) -> Lines:
    path = results_dir / f"{result.benchmark}.json"
    document = load_result(path)
    if document is None:
        return [f"**{result.title}**: not yet measured: run `{result.command()}`."]
    try:
        body = result.render(document)
    except (KeyError, TypeError, ValueError) as error:
        raise SystemExit(f"{path}: cannot render it ({type(error).__name__}: {error})") from error
    return [f"### {result.title}", "", *provenance_lines(document, result), "", *body]


def render_page(results_dir: Path = RESULTS_DIR) -> str:
    """The page, from the JSON files in ``results_dir`` only."""
    lines = [
        "# Results",
        "",
        "The current figures, one section per question. Generated from `docs/results/*.json` by",
        "`python benchmarks/render_results.py`; edit the benchmarks, not this page. What was",
        "tried and why each default is what it is: [benchmarks.md](benchmarks.md). Heavy",
        "benchmarks on a shared machine run under `flock /tmp/recsys-heavy.lock`.",
    ]
    for heading, results in SECTIONS:
        lines += ["", f"## {heading}"]
        for result in results:
            lines += ["", *render_result(result, results_dir)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--output", type=Path, default=PAGE)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the page differs from the JSON files"
    )
    args = parser.parse_args(argv)
    page = render_page(args.results_dir)
    if args.check:
        current = args.output.read_text() if args.output.exists() else None
        if current != page:
            print(f"{args.output} is out of date: run python benchmarks/render_results.py",
                  file=sys.stderr)  # fmt: skip
            return 1
        return 0
    args.output.write_text(page)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
