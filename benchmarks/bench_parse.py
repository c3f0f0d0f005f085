"""Benchmark: parse throughput of recsys.data.parse on Amazon metadata files.

For each file: the full parse (read, decompress, parse, extract, intern, dedupe, products
table) with 1 and with N worker processes, best of --repeat runs, in records/s; and, for
2014 Python-literal files, the line parser alone against ``ast.literal_eval`` (the safe
baseline it replaces). Defaults to the real samples in ``$RECSYS_SHARED_DATA/amazon``.

    python benchmarks/bench_parse.py                       # the real samples
    flock /tmp/recsys-heavy.lock python benchmarks/bench_parse.py FILE --workers 1 2
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from recsys.data.formats.amazon import MetadataFormat, detect_format
from recsys.data.formats.stream import block_lines, iter_line_blocks, open_stream
from recsys.data.parse import PARALLEL_MIN_BYTES, parse_metadata
from recsys.data.pyliteral import parse_python_literal


def default_files() -> list[Path]:
    repo = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("RECSYS_SHARED_DATA", repo.parent / "shared" / "data"))
    return sorted((shared / "amazon").glob("*.json.gz"))


def line_parser_rates(path: Path, max_lines: int) -> tuple[float, float]:
    """(fast parser, ast.literal_eval) lines/s on the file's first ``max_lines`` lines."""
    lines: list[str] = []
    for block in iter_line_blocks(open_stream(path)):
        lines += [line for line in block_lines(block) if line.strip()]
        if len(lines) >= max_lines:
            break
    lines = lines[:max_lines]
    rates = []
    for parse in (parse_python_literal, ast.literal_eval):
        started = time.perf_counter()
        for line in lines:
            parse(line)
        rates.append(len(lines) / (time.perf_counter() - started))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="metadata files (default: samples)")
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting; best is kept")
    parser.add_argument("--line-sample", type=int, default=20_000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {load:.1f}")  # fmt: skip
    for path in args.files or default_files():
        fmt = detect_format(path)
        size_mib = path.stat().st_size / 2**20
        for workers in args.workers:
            if workers > 1 and path.stat().st_size < PARALLEL_MIN_BYTES:
                print(f"{path.name}: under {PARALLEL_MIN_BYTES >> 20} MiB, parsed in-process only")
                continue
            best = None
            for _ in range(args.repeat):
                report = parse_metadata(path, study_filters=False, workers=workers).report
                if best is None or report.seconds < best.seconds:
                    best = report
            assert best is not None
            print(
                f"{path.name}: {fmt}, {size_mib:.1f} MiB, {best.records_read:,} records, "
                f"{best.n_pairs:,} pairs, workers {best.workers}: {best.seconds:.2f} s, "
                f"{best.records_per_second:,.0f} records/s"
            )
        if fmt is MetadataFormat.PYTHON_2014:
            fast, slow = line_parser_rates(path, args.line_sample)
            print(
                f"{path.name}: line parser {fast:,.0f} lines/s vs ast.literal_eval "
                f"{slow:,.0f} lines/s ({fast / slow:.1f}x)"
            )


if __name__ == "__main__":
    main()
