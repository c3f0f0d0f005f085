"""Input formats, one module each: how a format is told from its content, how it is read,
what it yields (a products table and unique pairs, :class:`recsys.data.parse.ParsedMetadata`).

:mod:`recsys.data.formats.registry` tries them in order; adding a format is adding a
module and one registry entry.
"""
