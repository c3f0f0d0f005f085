"""Word pools for synthetic category, brand and title names.

Names are made unique per tree level so that every category string names one node: a
side-information model then sees exactly the planted structure, not accidental merges.
"""

from __future__ import annotations

import numpy as np

ELECTRONICS_NOUNS = (
    "Adapters", "Amplifiers", "Antennas", "Bags", "Batteries", "Cables", "Cases", "Chargers",
    "Converters", "Docks", "Earbuds", "Filters", "Flashes", "Hard Drives", "Headsets", "Hubs",
    "Keyboards", "Lenses", "Memory Cards", "Mice", "Microphones", "Monitors", "Mounts",
    "Players", "Power Banks", "Printers", "Projectors", "Radios", "Receivers", "Remotes",
    "Routers", "Scanners", "Screen Protectors", "Speakers", "Stands", "Straps",
    "Stylus Pens", "Surge Protectors", "Tripods", "Webcams",
)  # fmt: skip
ELECTRONICS_QUALIFIERS = (
    "Bluetooth", "Compact", "Digital", "Gaming", "Heavy-Duty", "Mini", "Outdoor", "Portable",
    "Professional", "Rechargeable", "Replacement", "Smart", "USB", "Universal", "Waterproof",
    "Wireless",
)  # fmt: skip
BOOKS_NOUNS = (
    "Anthologies", "Atlases", "Biographies", "Chronicles", "Classics", "Collections",
    "Criticism", "Encyclopedias", "Essays", "Guides", "Handbooks", "Histories", "Journals",
    "Letters", "Memoirs", "Novels", "Plays", "Poetry", "Sagas", "Series", "Short Stories",
    "Studies", "Textbooks", "Workbooks",
)  # fmt: skip
BOOKS_QUALIFIERS = (
    "American", "Ancient", "Asian", "Classic", "Contemporary", "Cultural", "European",
    "Historical", "Illustrated", "Literary", "Military", "Modern", "Popular", "Regional",
    "Women's", "World",
)  # fmt: skip
LEAF_SUFFIXES = (
    "Basics", "Bundles", "Classic", "Essentials", "Kits", "Lite", "Max", "Parts", "Plus",
    "Pro", "Sets", "Starter",
)  # fmt: skip
SYLLABLES = (
    "ar", "bel", "cor", "dex", "el", "fin", "gal", "hex", "ion", "jet", "kor", "lum", "max",
    "nor", "ox", "pix", "qua", "ron", "sol", "tek", "ul", "vor", "wen", "xa", "yor", "zen",
)  # fmt: skip


def pools_for(root: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(nouns, qualifiers) used to name the second and third category levels."""
    if root == "Books":
        return BOOKS_NOUNS, BOOKS_QUALIFIERS
    return ELECTRONICS_NOUNS, ELECTRONICS_QUALIFIERS


def unique_names(candidates: list[str]) -> list[str]:
    """Make repeated names unique by numbering the repeats ("Cables", "Cables 2", ...)."""
    seen: dict[str, int] = {}
    out = []
    for name in candidates:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def brand_names(n_brands: int, suffixes: tuple[str, ...], rng: np.random.Generator) -> list[str]:
    """``n_brands`` distinct made-up brand names built from 2-3 syllables.

    Drawn as integer codes first so uniqueness is one ``np.unique``; names are capitalized
    words such as "Solvor" or "Tekarion Press".
    """
    n_syl = len(SYLLABLES)
    codes = rng.integers(0, n_syl**3, size=4 * n_brands + 64)
    codes = codes[np.sort(np.unique(codes, return_index=True)[1])][:n_brands]
    if codes.size < n_brands:  # more brands than 3-syllable names: number the repeats
        codes = np.resize(codes, n_brands)
    three = rng.random(n_brands) < 0.4
    names = []
    for code, long, suffix in zip(
        codes.tolist(),
        three.tolist(),
        rng.integers(0, len(suffixes), n_brands).tolist(),
        strict=True,
    ):
        parts = [SYLLABLES[code % n_syl], SYLLABLES[(code // n_syl) % n_syl]]
        if long:
            parts.append(SYLLABLES[code // n_syl**2])
        names.append("".join(parts).capitalize() + suffixes[suffix])
    return unique_names(names)


TITLE_ADJECTIVES = (
    "Silent", "Hidden", "Last", "Golden", "Broken", "Secret", "Winter", "Lost", "Burning",
    "Distant", "Quiet", "Wild", "Forgotten", "Crimson", "Endless", "Little",
)  # fmt: skip
TITLE_NOUNS = (
    "River", "Garden", "House", "Kingdom", "Letter", "Road", "Island", "Promise", "Shadow",
    "Harbor", "Mountain", "Journey", "Season", "Empire", "Voice", "Bridge",
)  # fmt: skip
