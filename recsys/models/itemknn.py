"""Item-kNN baseline: cosine between products' rows of the training adjacency."""

from recsys.models.base import Method
from recsys.models.graph_baselines import ItemKnnConfig, train_itemknn

METHOD = Method(
    name="itemknn",
    config_class=ItemKnnConfig,
    train=train_itemknn,  # type: ignore[arg-type]
    description="graph baseline: cosine of two products' weighted training-adjacency rows",
)
