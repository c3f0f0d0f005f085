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


def provenance_lines(document: dict[str, Any], result: Result) -> Lines:
    """When, where and at which commit it was measured, and the command that does it again."""
    found = document.get("provenance")
    if not found:
        machine = document.get("machine")  # bench_defaults wrote a line of its own
        where = f"Measured on {machine}; date" if isinstance(machine, str) else "Date, machine"
        return [
            f"{where} and command not recorded; this records them:",
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


def render_defaults(document: dict[str, Any]) -> Lines:
    """bench_defaults: AUC under both protocols and minutes; the best per dataset in bold."""
    rows = document["results"]
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
            f"{row['minutes']:.2f}",
            optional(row, "pairs_per_second", "{:,.0f}"),
        ]
        for row in rows
    ]
    header = ["dataset", "method", "AUC all", "AUC seen", "matched all", "matched seen"]
    header += ["cold start", "minutes", "pairs/s"]
    note = (
        "AUC all / seen under the study's negatives (uniform over the validation products) "
        "and under degree-matched ones, the best per dataset in bold; cold start: the "
        "study's AUC on pairs with a product unseen in training (0.5 for id-only methods); "
        "pairs/s: the torch methods' median training pairs per second over their epochs."
    )
    return [note, "", *markdown_table(header, "llrrrrrrr", table)]


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
    ]


SECTIONS: list[tuple[str, list[Result]]] = [
    (
        "Which method is best, per dataset and protocol",
        [Result("bench_defaults", "Defaults against gensim on the real samples", render_defaults)],
    ),
    (
        "Speed per stage vs its peer",
        [
            Result("bench_formats", "Reading input files", render_formats),
            Result("bench_skipgram", "Skip-gram training vs gensim", render_skipgram),
            Result("bench_ranking", "Ranking over the whole catalog", render_ranking),
            Result("bench_serving", "Serving under load", render_serving),
        ],
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
