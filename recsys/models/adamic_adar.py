"""Adamic-Adar baseline: common training neighbours, each weighted 1 / log(degree)."""

from recsys.models.base import Method
from recsys.models.graph_baselines import AdamicAdarConfig, train_adamic_adar

METHOD = Method(
    name="adamic_adar",
    config_class=AdamicAdarConfig,
    train=train_adamic_adar,  # type: ignore[arg-type]
    description="graph baseline: sum over common training neighbours of 1/log(degree)",
)
