#!/usr/bin/env bash
# CI: prove the team tracking-server path without docker.
#
# PostgreSQL (Debian's package; installed if missing) in a throw-away cluster on
# 127.0.0.1, an `mlflow server` backed by it, then `recsys main` with a small method list
# and `recsys leaderboard` against it over HTTP; the runs are checked through the REST API
# (status FINISHED, metrics present). The registry's champion
# (models:/recsys-synthetic-small@champion) is loaded with mlflow.pyfunc.load_model and
# served with `mlflow models serve` on loopback, answering one valid request (strict JSON,
# null for an unknown product) and one invalid one (HTTP 400 naming the problem). Then two
# `recsys tune` workers share one Optuna study in a second database of the same PostgreSQL:
# N trials together, each once, all in MLflow, and a tuned run. Everything is stopped on
# exit, whatever happens; every wait is bounded.
#
# Needs: the project installed with the `server` extra (psycopg) in the active
# Python environment (or .venv). As root it may apt-get install postgresql; as another
# user PostgreSQL must already be installed. Environment knobs:
#   CI_TRACKING_METHODS   methods for `recsys main` (default: popularity,word2vec)
#   CI_TRACKING_PARAMS    extra -P pairs, space separated (default: none; word2vec's
#                         defaults take seconds on synthetic-small and learn, AUC ~0.87)
#   CI_TUNE_METHOD        the method two `recsys tune` workers share one study of, in a
#   CI_TUNE_TRIALS        second database of the same PostgreSQL (default: word2vec, 6
#   CI_TUNE_SPACE         trials, --space epochs=1:3; CI_TUNE_SPACE="" searches it all)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${VIRTUAL_ENV:-}" && -f .venv/bin/activate ]]; then
    . .venv/bin/activate
fi

METHODS="${CI_TRACKING_METHODS:-popularity,word2vec}"
PARAMS="${CI_TRACKING_PARAMS:-}"
WAIT_S=60

log() { echo "== ci_tracking_server: $*"; }

# --- PostgreSQL binaries -----------------------------------------------------------------
find_pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" ]] && { echo "$dir"; return 0; }
    done
    return 1
}
if ! PG_BIN="$(find_pg_bin)"; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "PostgreSQL is not installed and we are not root: apt-get install postgresql" >&2
        exit 1
    fi
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    PG_BIN="$(find_pg_bin)"
fi
python -c "import psycopg" 2>/dev/null || {
    echo "psycopg is missing: pip install -c requirements.lock -e '.[server]'" >&2
    exit 1
}

# --- a throw-away cluster, owned by the postgres user when we are root --------------------
WORK="$(mktemp -d /tmp/recsys-ci-tracking.XXXXXX)"
chmod 755 "$WORK"
PGDATA="$WORK/pgdata"
SERVER_PID=""
SERVE_PID=""
TUNE_PIDS=()  # `recsys tune` workers, stopped on exit like the server
if [[ "$(id -u)" -eq 0 ]]; then  # initdb refuses to run as root
    PG_USER="postgres"
    AS_PG=(runuser -u postgres --)
else
    PG_USER="$(id -un)"
    AS_PG=()
fi

free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PG_PORT="$(free_port)"
MLFLOW_PORT="$(free_port)"

stop_group() {  # stop_group PID WHAT: TERM its process group, KILL it after 10 s
    [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 0
    log "stopping $2 (pid $1)"
    kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1"
    for _ in $(seq 20); do kill -0 "$1" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$1" 2>/dev/null
}

cleanup() {
    local status=$?
    set +e
    for pid in "${TUNE_PIDS[@]}"; do stop_group "$pid" "recsys tune"; done
    stop_group "$SERVE_PID" "mlflow models serve"
    stop_group "$SERVER_PID" "mlflow server"
    if [[ -f "$PGDATA/postmaster.pid" ]]; then
        log "stopping PostgreSQL"
        timeout 30 "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
    if [[ $status -ne 0 ]]; then
        log "FAILED (exit $status); server logs follow"
        tail -n 40 "$WORK/postgres.log" "$WORK/mlflow.log" "$WORK/serve.log" 2>/dev/null
    fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$PGDATA" "$WORK/sock"
[[ "$PG_USER" == "postgres" ]] && chown -R postgres "$WORK"
log "initdb in $PGDATA"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U "$PG_USER" --auth=trust -E UTF8 >/dev/null
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -w -t "$WAIT_S" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/sock" start >/dev/null
log "PostgreSQL up on 127.0.0.1:$PG_PORT"
psql_pg() { "${AS_PG[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qc "$1"; }
psql_pg "CREATE USER mlflow WITH PASSWORD 'mlflow'"
psql_pg "CREATE DATABASE mlflow OWNER mlflow"

# --- mlflow server on PostgreSQL -----------------------------------------------------------
BACKEND="postgresql://mlflow:mlflow@127.0.0.1:$PG_PORT/mlflow"
python -c "import sys; from recsys.tracking.server import check_tracking_uri as c; c(sys.argv[1])" \
    "$BACKEND"  # the direct-database check passes a live database (and fails fast otherwise)
log "the tracking-URI check connects to $BACKEND"
export MLFLOW_TRACKING_URI="http://127.0.0.1:$MLFLOW_PORT"
log "starting mlflow server on $MLFLOW_TRACKING_URI (backend $BACKEND)"
setsid mlflow server --backend-store-uri "$BACKEND" \
    --default-artifact-root "$WORK/artifacts" \
    --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 >"$WORK/mlflow.log" 2>&1 &
SERVER_PID=$!
wait_for_http() {  # wait_for_http URL PID: until URL answers 200 while PID lives; WAIT_S at most
    python - "$1" "$WAIT_S" "$2" <<'EOF'
import os, sys, time, urllib.request

url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while True:
    try:
        os.kill(int(sys.argv[3]), 0)
    except ProcessLookupError:
        sys.exit(f"the server exited before answering {url}")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"the server did not answer {url} within {sys.argv[2]} s")
    time.sleep(1)
EOF
}
wait_for_http "$MLFLOW_TRACKING_URI/health" "$SERVER_PID"
log "mlflow server healthy"

# --- train and rank against it ---------------------------------------------------------------
export RECSYS_DATA_DIR="$WORK/data"
P_ARGS=()
for pair in $PARAMS; do P_ARGS+=(-P "$pair"); done
log "recsys main --methods $METHODS ${P_ARGS[*]}"
timeout 600 recsys main --dataset synthetic-small --methods "$METHODS" "${P_ARGS[@]}" --no-progress
log "recsys leaderboard"
timeout 120 recsys leaderboard --dataset synthetic-small

# --- check over the REST API that the runs arrived --------------------------------------------
python - "$METHODS" <<'EOF'
import sys

from mlflow import MlflowClient

methods = sys.argv[1].split(",")
client = MlflowClient()  # MLFLOW_TRACKING_URI: the server above
experiments = [e.experiment_id for e in client.search_experiments()]
for method in methods:
    runs = client.search_runs(
        experiments, f"tags.`recsys.method` = '{method}' AND tags.`recsys.dataset` = 'synthetic-small'"
    )
    assert runs, f"no run of {method} arrived on {client.tracking_uri}"
    run = runs[0]
    assert run.info.status == "FINISHED", f"{method}: run {run.info.run_id} is {run.info.status}"
    missing = {"auc_all", "auc_seen", "train_minutes", "peak_memory_mb"} - set(run.data.metrics)
    assert not missing, f"{method}: run {run.info.run_id} lacks metrics {sorted(missing)}"
    print(f"  {method}: run {run.info.run_id} FINISHED, auc_all={run.data.metrics['auc_all']:.4f}")
(main,) = client.search_runs(experiments, "tags.`recsys.kind` = 'main'")
assert main.info.status == "FINISHED", f"main run {main.info.run_id} is {main.info.status}"
children = client.search_runs(experiments, f"tags.`recsys.main_run` = '{main.info.run_id}'")
assert len(children) == len(methods), f"main run has {len(children)} method runs"
print(f"  main: run {main.info.run_id} FINISHED with {len(children)} method runs")
boards = client.search_runs(experiments, "tags.`recsys.kind` = 'leaderboard'")
assert boards and boards[0].info.status == "FINISHED", "no finished leaderboard run arrived"
artifacts = {a.path for a in client.list_artifacts(boards[0].info.run_id)}
assert {"leaderboard.md", "leaderboard.png"} <= artifacts, f"leaderboard artifacts: {artifacts}"
print(f"  leaderboard: run {boards[0].info.run_id} with {sorted(artifacts)}")
EOF

# --- the registry's champion: loaded by its alias, then served over HTTP ------------------------
# Two synthetic-small products (the README's predict example) and one that no dataset has.
MODEL_URI="models:/recsys-synthetic-small@champion"
log "mlflow.pyfunc.load_model('$MODEL_URI')"
python - "$MODEL_URI" <<'EOF'
import sys

import mlflow
import pandas as pd

model = mlflow.pyfunc.load_model(sys.argv[1])
pairs = pd.DataFrame(
    {"product1": ["B00UPL59EA", "not-a-product"], "product2": ["B00WE6LQDE", "B00WE6LQDE"]}
)
answer = model.predict(pairs)
print(f"  predict({pairs.to_dict('list')})\n    -> {answer.to_dict('records')}")
assert answer["known"].tolist() == [True, False], answer
assert isinstance(answer["score"][0], float) and answer["score"][1] is None, answer
EOF

SERVE_PORT="$(free_port)"
SERVE_URL="http://127.0.0.1:$SERVE_PORT"
log "mlflow models serve -m $MODEL_URI --env-manager local on $SERVE_URL"
setsid mlflow models serve -m "$MODEL_URI" --env-manager local \
    --host 127.0.0.1 --port "$SERVE_PORT" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
wait_for_http "$SERVE_URL/ping" "$SERVE_PID"
python - "$SERVE_URL/invocations" <<'EOF'
import json
import sys
import urllib.error
import urllib.request


def post(body: dict) -> tuple[int, object]:
    """(HTTP status, the body parsed as strict JSON: NaN or Infinity is refused)."""
    request = urllib.request.Request(
        sys.argv[1], json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    print(f"  POST /invocations {json.dumps(body)}\n    -> HTTP {status} {text.strip()}")

    def refuse(constant: str) -> None:
        raise AssertionError(f"invalid JSON in the answer: {constant}")

    return status, json.loads(text, parse_constant=refuse)


valid = {
    "dataframe_split": {
        "columns": ["product1", "product2"],
        "data": [["B00UPL59EA", "B00WE6LQDE"], ["not-a-product", "B00WE6LQDE"]],
    }
}
status, body = post(valid)
assert status == 200, status
rows = body["predictions"]
assert [row["known"] for row in rows] == [True, False], rows
assert isinstance(rows[0]["score"], float) and rows[1]["score"] is None, rows

invalid = {"dataframe_split": {"columns": ["item"], "data": [["B00UPL59EA"]]}}
status, body = post(invalid)
assert status == 400, status
assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
assert "input needs columns product1, product2" in body["message"], body
EOF
log "OK: runs tracked on PostgreSQL through mlflow server; the champion loads and serves"

# --- tuning: two workers share one Optuna study in the same PostgreSQL ------------------------
TUNE_METHOD="${CI_TUNE_METHOD:-word2vec}"
TUNE_TRIALS="${CI_TUNE_TRIALS:-6}"
TUNE_SPACE="${CI_TUNE_SPACE-epochs=1:3}"  # keeps word2vec's trials to seconds; "" = all of it
psql_pg "CREATE DATABASE optuna OWNER mlflow"
STORAGE="postgresql://mlflow:mlflow@127.0.0.1:$PG_PORT/optuna"
TUNE=(recsys tune "$TUNE_METHOD" --dataset synthetic-small --trials "$TUNE_TRIALS"
      --study ci-shared --storage "$STORAGE")
[[ -n "$TUNE_SPACE" ]] && TUNE+=(--space "$TUNE_SPACE")
log "two workers: ${TUNE[*]} --no-final"
for worker in 1 2; do
    setsid timeout 900 "${TUNE[@]}" --no-final >"$WORK/tune-$worker.log" 2>&1 &
    TUNE_PIDS+=($!)
done
for worker in 1 2; do
    wait "${TUNE_PIDS[$((worker - 1))]}" || { tail -n 30 "$WORK/tune-$worker.log"; exit 1; }
    grep -h '^trial ' "$WORK/tune-$worker.log" | sed "s/^/  worker $worker: /"
done
log "the full study's tuned run: ${TUNE[*]}"
timeout 600 "${TUNE[@]}" --quiet
python - "$STORAGE" "$TUNE_TRIALS" <<'EOF'
import sys

import optuna
from mlflow import MlflowClient

storage, n = sys.argv[1], int(sys.argv[2])
study = optuna.load_study(study_name="ci-shared", storage=storage)
numbers = sorted(t.number for t in study.trials)
assert numbers == list(range(n)), f"study trials {numbers}, expected 0..{n - 1} once each"
states = {t.state.name for t in study.trials}
assert states <= {"COMPLETE", "PRUNED"}, f"trial states {states}"
client = MlflowClient()
experiments = [e.experiment_id for e in client.search_experiments()]
in_study = "tags.`recsys.study` = 'ci-shared'"
trials = client.search_runs(experiments, f"{in_study} AND tags.`recsys.kind` = 'tune_trial'")
tags = sorted(int(r.data.tags["recsys.trial"]) for r in trials)
assert tags == numbers, f"MLflow trial runs {tags}, expected {numbers}: one ran twice or is missing"
assert {t.user_attrs["mlflow_run_id"] for t in study.trials} == {r.info.run_id for r in trials}
workers = client.search_runs(experiments, f"{in_study} AND tags.`recsys.kind` = 'tune'")
shares = sorted(int(r.data.metrics["trials_this_worker"]) for r in workers)
assert len(shares) == 3 and sum(shares) == n and shares[0] == 0, f"trials per tune run: {shares}"
(tuned,) = client.search_runs(experiments, f"{in_study} AND tags.`recsys.tuned` = 'true'")
assert tuned.info.status == "FINISHED" and "auc_all" in tuned.data.metrics
print(f"  study ci-shared: {n} trials, each once (workers ran {shares[1]} and {shares[2]}), "
      f"best {study.best_value:.4f}; tuned run {tuned.info.run_id} "
      f"auc_all {tuned.data.metrics['auc_all']:.4f}")
EOF
log "OK: two tune workers shared one study on PostgreSQL, every trial once and in MLflow"
