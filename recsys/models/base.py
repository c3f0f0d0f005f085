"""How methods are described and found by name.

A method is a name, a pydantic config schema and a ``train(data, config, callbacks)``
function returning :class:`recsys.embeddings.ItemEmbeddings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from recsys.callbacks import TrainingCallback
from recsys.embeddings import ItemEmbeddings

TrainFunction = Callable[[Any, BaseModel, Sequence[TrainingCallback]], ItemEmbeddings]


@dataclass(frozen=True)
class Method:
    """A registered method: its name, config schema and train function.

    ``train(data, config, callbacks)`` takes a PreparedDataset (and whatever the method
    derives from it, such as walks, through config) and returns ItemEmbeddings.
    """

    name: str
    config_class: type[BaseModel]
    train: TrainFunction
    description: str
    needs_walks: bool = False
