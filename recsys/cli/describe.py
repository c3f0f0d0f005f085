"""`recsys describe DATASET`: the statistics of a prepared dataset's co-purchase graph."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from recsys.cli.prepare import EPILOG, dataset_options, prepare_for_options, quiet_option


@click.command("describe", epilog=EPILOG)
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="print the statistics as JSON (NaN as null)")
@quiet_option("no progress bars while preparing")
def describe_command(as_json: bool, quiet: bool, **dataset: Any) -> None:
    """Print DATASET's statistics: products, pairs, degree quantiles, degree-1 share and
    Gini (over all pairs and over the training graph), shares of products with metadata and
    of validation positives seen and cold-start, average local clustering (on a uniform
    sample of 20,000 products above that size) and pairs within one top category.

    DATASET is prepared first, or loaded from the cache, exactly as `recsys prepare` would;
    DATASET defaults to synthetic-small. Every tracked run logs the same numbers as
    `data.<key>` metrics; --json shows the keys.
    """
    prepared = prepare_for_options(progress=not (quiet or as_json), **dataset)
    from recsys.data.statistics import format_statistics, stored_statistics

    statistics = stored_statistics(prepared)
    if as_json:
        plain = {k: None if math.isnan(v) else v for k, v in statistics.items()}
        click.echo(json.dumps({"dataset": prepared.name, **plain}, indent=2))
    else:
        click.echo(f"{prepared.name} ({prepared.folder})")
        click.echo(format_statistics(statistics))
