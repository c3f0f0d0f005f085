"""A prepared dataset's manifest as a short human report (what `recsys prepare` prints)."""

from __future__ import annotations

from typing import Any

from recsys.data.dataset import PreparedDataset


def _ignored(columns: list[str]) -> str:
    """The named columns not read, so a weight under another name (``count``) is not lost
    unseen (an unnamed one holds row numbers)."""
    named = [column for column in columns if column]
    if not named:
        return ""
    return (
        f"; not read: {', '.join(named)} (a weight or relation under another name: "
        "--columns A,B,WEIGHT[,RELATION])"
    )


def _header(details: dict[str, Any]) -> str:
    """The header decision and its reason, so a wrong guess is visible and can be fixed."""
    if not details["header"]:
        return "no header (line 1 read as a pair; if it names columns, pass --header)"
    reason = details.get("header_reason")
    return f"header: {reason}" if reason else "header"


def _count(value: Any) -> str:
    return f"{int(value):,}" if value is not None else "?"


def _share(part: Any, whole: Any) -> str:
    return f"{100 * int(part) / int(whole):.1f}%" if part is not None and whole else "n/a"


def _side_rows_skipped(side: dict[str, Any]) -> str:
    """The products file's rows and cells not used, so a repeated id, an unread price or a
    cut-off file is never dropped unseen."""
    skipped = []
    if side.get("duplicate_ids"):
        skipped.append(f"{_count(side['duplicate_ids'])} repeating an earlier id (first row kept)")
    if side.get("empty_ids"):
        skipped.append(f"{_count(side['empty_ids'])} with an empty id")
    for name, count in (side.get("not_numbers") or {}).items():
        skipped.append(f"{_count(count)} {name} values that are not numbers (left empty)")
    text = f"; skipped {', '.join(skipped)}" if skipped else ""
    if side.get("truncated"):
        text += f"; file truncated ({side['truncated']}): the rows before the cut read"
    return text


def describe_prepared(dataset: PreparedDataset) -> str:
    """Records, products, pairs per relation, split sizes, what was skipped, where it is."""
    m = dataset.manifest
    parse = m.get("parse", {})
    entries = m.get("relation_entries", {})
    per_relation = m.get("pairs_per_relation", {})
    if (parse.get("details") or {}).get("weights"):  # pairs and SNAP: no record filters
        filters = "well-formed"
    else:
        filters = "the study's filters" if m.get("study_filters") else "no filters"
    lines = [
        f"dataset    {dataset.name} ({m.get('source_kind')}) from {m.get('source')}",
        f"format     {m.get('detected_format')}, sha256 {str(m.get('sha256'))[:16]}...",
        f"records    {_count(m.get('records_read'))} read, {_count(m.get('records_kept'))} "
        f"kept ({filters})",
        f"products   {_count(m.get('n_products'))} in pairs, "
        f"{_count(m.get('n_products_with_metadata'))} of them with a record of their own",
        f"pairs      {_count(m.get('n_pairs'))} unique undirected: "
        + ", ".join(f"{name} {_count(n)}" for name, n in sorted(per_relation.items())),
        "entries    "
        + ", ".join(f"{name} {_count(n)}" for name, n in sorted(entries.items()))
        + (" (buy_after_viewing is not paired)" if "buy_after_viewing" in entries else ""),
        f"train      {_count(m.get('n_train'))} pairs",
        f"validation {_count(m.get('n_validation_positives'))} positives + "
        f"{_count(m.get('n_validation_negatives'))} negatives per protocol (study, matched; "
        f"fraction "
        f"{m.get('validation_fraction', 0):.3g}, seed {m.get('split_seed')}); "
        f"{_count(m.get('n_seen_positives'))} positives seen "
        f"({_share(m.get('n_seen_positives'), m.get('n_validation_positives'))}: both products "
        "in training)",
    ]
    skipped = []
    details = parse.get("details") or {}
    if m.get("malformed_lines"):
        numbers = ", ".join(map(str, m.get("malformed_line_numbers", [])))
        unit = "records" if m.get("detected_format") == "snap-amazon-meta" else "lines"
        typed = details.get("field_type_errors")
        why = (
            f"; {_count(typed)} of them a relation of the wrong type, first "
            f"{details.get('first_field_type_error')}"
            if typed
            else ""
        )
        skipped.append(f"{_count(m['malformed_lines'])} malformed {unit} (first: {numbers}{why})")
    if m.get("truncated"):
        partial = parse.get("dropped_partial_line")
        where = f"; its cut-off line {partial:,} was dropped" if partial else ""
        skipped.append(f"file truncated: {parse.get('truncation_reason')}{where}")
    if parse.get("duplicate_records"):
        skipped.append(
            f"{_count(parse['duplicate_records'])} records repeating an earlier asin (their "
            "pairs kept, their fields ignored: the first record wins)"
        )
    if details.get("self_pairs"):
        skipped.append(f"{_count(details['self_pairs'])} self-pairs")
    if details.get("zero_weight"):
        skipped.append(f"{_count(details['zero_weight'])} rows of weight 0 (not pairs)")
    if details.get("zero_weight_pairs"):
        skipped.append(
            f"{_count(details['zero_weight_pairs'])} pairs only in relations of weight 0"
        )
    if details.get("discontinued"):
        skipped.append(f"{_count(details['discontinued'])} discontinued products")
    lines.append("skipped    " + ("; ".join(skipped) if skipped else "nothing"))
    if "delimiter" in details:
        lines.append(
            f"columns    {details['delimiter']}-separated, "
            f"{_header(details)}; ids "
            f"{', '.join(map(str, details['id_columns']))}, weight {details['weight_column']}, "
            f"relation {details['relation_column']}; pair weight: {details['weights']}"
            + _ignored(details.get("ignored_columns") or [])
        )
    side = details.get("products_file")
    if side:
        lines.append(
            f"side info  {side['path']}: {_count(side['rows'])} rows, "
            f"{_count(side['rows_matched'])} matching a product in a pair, "
            f"{_count(side['rows_unmatched'])} not; columns {', '.join(side['columns']) or 'none'}"
            + _side_rows_skipped(side)
        )
    if details.get("integral_float_ids"):
        lines.append(
            f"note       {_count(details['integral_float_ids'])} ids written as floats (12.0) "
            "read as the integers they are (12)"
        )
    if details.get("cr_line_ends"):
        lines.append("note       the file's lines end in CR alone (classic Mac OS), read as lines")
    if parse.get("byte_order_mark"):
        lines.append("note       the file starts with a UTF-8 byte-order mark (stripped)")
    if m.get("cache_hit"):
        how = "loaded from the cache"
    else:
        rate = parse.get("records_per_second")
        how = f"built in {m.get('prepare_seconds', 0):.1f} s, parsing {rate:,.0f} records/s"
    lines.append(f"cache      {dataset.folder} ({how})")
    return "\n".join(lines)
