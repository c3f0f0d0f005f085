"""recsys: item-to-item product embeddings from co-purchase data, tracked with MLflow."""

__version__ = "0.1.0"
