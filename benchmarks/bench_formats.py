"""Benchmark: reading throughput of the pairs-file and SNAP amazon-meta readers.

Generates, in a temporary folder, a plain CSV of ``--pairs`` random pairs (int ids over
``--products`` products, a header line) and an amazon-meta-like text file: the real
sample's records repeated ``--meta-copies`` times, each copy's asins (on its ``ASIN:`` and
``similar:`` lines) given a fresh 5-character prefix so copies do not share products.
Times :func:`read_pairs_file` and :func:`read_snap_meta` (read, parse, number ids,
deduplicate, build the products table), best of ``--repeat``.

    flock /tmp/recsys-heavy.lock python benchmarks/bench_formats.py \\
        --json docs/results/bench_formats.json
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from results import write_result

from recsys.data.formats.pairs_file import read_pairs_file
from recsys.data.formats.snap_meta import read_snap_meta

PREFIX = "\x00"  # stands for a copy's prefix in the template
_ASIN_LINE = re.compile(r"^(ASIN:[ \t]*|[ \t]+similar:[ \t]*\d+)([^\r\n]*)", re.M)
_ASIN = re.compile(r"\b[0-9A-Z]{10}\b")


def default_sample() -> Path:
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("RECSYS_SHARED_DATA", repo.parent / "shared" / "data"))
    return shared / "snap" / "amazon-meta.head462.txt"


def write_pairs_csv(path: Path, n_pairs: int, n_products: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = pa.table(
        {
            "source": rng.integers(0, n_products, n_pairs),
            "target": rng.integers(0, n_products, n_pairs),
        }
    )
    pa_csv.write_csv(table, path)


def write_meta(path: Path, sample: Path, copies: int) -> None:
    """The sample's records ``copies`` times, each copy with fresh asins."""
    text = sample.read_text(encoding="utf-8")
    text = text[text.index("Id:") :].rstrip("\n") + "\n\n"

    def fresh(match: re.Match[str]) -> str:
        return match.group(1) + _ASIN.sub(lambda m: PREFIX + m.group(0)[5:], match.group(2))

    template = _ASIN_LINE.sub(fresh, text)
    with path.open("w", encoding="utf-8") as out:
        for copy in range(copies):
            out.write(template.replace(PREFIX, f"{copy:05d}"))


def best_of(repeat: int, read: Any) -> tuple[float, Any]:
    best = (float("inf"), None)
    for _ in range(repeat):
        started = time.perf_counter()
        result = read()
        seconds = time.perf_counter() - started
        if seconds < best[0]:
            best = (seconds, result)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=4_000_000)
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--meta-copies", type=int, default=200)
    parser.add_argument("--sample", type=Path, default=default_sample())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "pairs.csv"
        write_pairs_csv(csv_path, args.pairs, args.products, seed=0)
        seconds, parsed = best_of(args.repeat, lambda: read_pairs_file(csv_path))
        rows.append(
            {
                "reader": "pairs file (CSV)",
                "input": f"{args.pairs:,} rows, {csv_path.stat().st_size / 2**20:.1f} MiB",
                "units": args.pairs,
                "unit": "pairs",
                "seconds": seconds,
                "result": f"{parsed.report.n_pairs:,} pairs, {parsed.report.n_products:,} products",
            }
        )
        csv_path.unlink()
        meta_path = Path(folder) / "amazon-meta.txt"
        write_meta(meta_path, args.sample, args.meta_copies)
        seconds, parsed = best_of(args.repeat, lambda: read_snap_meta(meta_path))
        rows.append(
            {
                "reader": "SNAP amazon-meta",
                "input": f"{parsed.report.records_read:,} records, "
                f"{meta_path.stat().st_size / 2**20:.1f} MiB",
                "units": parsed.report.records_read,
                "unit": "records",
                "seconds": seconds,
                "result": f"{parsed.report.n_pairs:,} pairs, {parsed.report.n_products:,} products",
            }
        )
    print("| reader | input | read | rate | result |\n| --- | --- | ---: | ---: | --- |")
    for row in rows:
        row["per_second"] = row["units"] / row["seconds"]
        print(
            f"| {row['reader']} | {row['input']} | {row['seconds']:.2f} s | "
            f"{row['per_second']:,.0f} {row['unit']}/s | {row['result']} |"
        )
    if args.json:
        write_result(args.json, {"results": rows})


if __name__ == "__main__":
    main()
