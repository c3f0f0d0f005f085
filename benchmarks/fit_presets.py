"""Re-calibrate the electronics and books presets to the real samples; write fitted.py.

Each preset keeps the study's sizes (products, pairs), its 39% record share and its side
information, and takes from a real sample what does not depend on size: the degree laws
of products with and without a record (stretched at generation to the study's pair
count), clustering and the share of pairs within one top category (searched as for a
twin, ``recsys/data/synthetic/fit.py``). Electronics is fitted to the Digital Music
sample, the one 2014 per-category file among the samples (the same format, crawl and
list limits as meta_Electronics.json.gz); books to the Books head (95% Books records).
The result is Python source, ``recsys/data/synthetic/fitted.py``, so the presets need no
data file at run time:

    flock /tmp/recsys-heavy.lock python benchmarks/fit_presets.py
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from recsys.data.synthetic.presets import PRESETS
from recsys.data.synthetic.twin import fit_preset

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "recsys" / "data" / "synthetic" / "fitted.py"
SAMPLES = {
    "electronics": ("ELECTRONICS_SHAPE", "amazon/meta_Digital_Music.json.gz"),
    "books": ("BOOKS_SHAPE", "amazon/metadata.head11053.json.gz"),
}


def shared_data() -> Path:
    return Path(os.environ.get("RECSYS_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary one")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("numba").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        blocks = []
        for preset, (constant, sample) in SAMPLES.items():
            started = time.perf_counter()
            # Start from the preset without its old shape: the fit replaces it whole.
            base = dataclasses.replace(PRESETS[preset], shape=None)
            fit = fit_preset(base, shared_data() / sample, data_dir)
            seconds = time.perf_counter() - started
            last = fit.trace[-1]
            print(f"{preset}: {fit.preset.shape} ({seconds:.0f} s; last step {last})")
            blocks.append(
                f"# {preset}: fitted to {sample} (sha256 {fit.sha256[:16]}...):\n"
                f"# clustering {fit.targets['clustering']:.4f}, same-category share "
                f"{fit.targets['same_category_share']:.4f} over "
                f"{fit.targets['category_pairs']:.0f} pairs\n"
                f"{constant} = {fit.preset.shape!r}\n"
            )
    header = (
        '"""Graph shapes of the electronics and books presets, fitted to the real samples.\n\n'
        "Written by ``python benchmarks/fit_presets.py``; do not edit by hand.\n"
        '"""\n\n'
        "from recsys.data.synthetic.degrees import DegreeLaw\n"
        "from recsys.data.synthetic.shape import GraphShape\n\n"
    )
    args.output.write_text(header + "\n".join(blocks))
    subprocess.run(["ruff", "format", "-q", str(args.output)], check=False)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
