-- The database `recsys tune --storage postgresql://...@postgres:5432/optuna` shares
-- studies in (run by postgres:16 on the first start of an empty volume only).
CREATE DATABASE optuna OWNER mlflow;
