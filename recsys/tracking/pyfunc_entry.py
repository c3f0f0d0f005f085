"""The model file MLflow logs for an embeddings model ("models from code").

MLflow stores this file with the model and runs it on load; ``set_model`` names the
pyfunc. Logging a file instead of a pickled object means nothing is unpickled on load,
and MLflow no longer warns about cloudpickle on every run. The class itself lives in
:mod:`recsys.tracking.pyfunc`, whose package travels with the model (``code_paths``).
"""

from mlflow.models import set_model

from recsys.tracking.pyfunc import EmbeddingModel

set_model(EmbeddingModel())
