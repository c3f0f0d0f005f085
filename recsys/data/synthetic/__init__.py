"""Synthetic Amazon-format metadata with planted structure (issue 2).

``write_synthetic_metadata(path, preset, scale, seed)`` writes a ``.json.gz`` file in the
2014 per-category format (one Python-dict literal per line) whose default prepare step
yields the study's product and pair counts times ``scale``, with co-purchases drawn from
a latent affinity that category, brand and price reveal. See ``generate.py``.
"""

from recsys.data.synthetic.generate import default_file_name, write_synthetic_metadata
from recsys.data.synthetic.presets import PRESETS, SyntheticPreset, resolve_sizes

__all__ = [
    "PRESETS",
    "SyntheticPreset",
    "default_file_name",
    "resolve_sizes",
    "write_synthetic_metadata",
]
