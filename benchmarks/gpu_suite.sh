#!/usr/bin/env bash
# Every GPU figure of docs/benchmarks.md, in as few calls as a lent GPU machine allows.
#
#   bash benchmarks/gpu_suite.sh electronics   # GPU tests, skip-gram throughput, torch methods
#   bash benchmarks/gpu_suite.sh books         # MF and node2vec-walk skip-gram at Books scale
#   bash benchmarks/gpu_suite.sh chunks        # shared negatives: quality per chunk, SGD runs
#   bash benchmarks/gpu_suite.sh profile       # where EGES's GPU steps go, next to skip-gram's
#
# Meant for a bare GPU machine with PyTorch, numba, pandas and pyarrow but nothing of this
# project installed and no network: wheels for the rest (pydantic and its needs) may be carried
# in .whl/ and are installed into /tmp/site. Fetch them where pip works (Python 3.12 there):
#   echo /.whl/ >> .git/info/exclude; python3 -m pip download --no-deps --only-binary=:all: \
#     --python-version 3.12 --implementation cp --platform manylinux2014_x86_64 -d .whl \
#     pydantic==2.14.3 pydantic_core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5 \
#     typing_extensions==4.16.0 Synthetic data is generated on the machine under
# $DATA (default /tmp/recsys-data). Logs and JSON results go to $OUT (default /tmp/gpu-out).
# Each step has its own time limit so that one slow step cannot cost the rest of the call.
set -uo pipefail
phase=${1:?usage: gpu_suite.sh electronics|chunks|books|profile}
OUT=${OUT:-/tmp/gpu-out}
DATA=${DATA:-/tmp/recsys-data}
mkdir -p "$OUT" "$DATA"
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

step() {  # step SECONDS NAME COMMAND...: run with a limit, log to $OUT/NAME.log, never abort
    local limit=$1 name=$2
    shift 2
    echo "== $name ($(date +%T), limit ${limit}s)"
    local started=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "   rc=$rc in $((SECONDS - started))s; tail:"
    tail -n 4 "$OUT/$name.log" | cut -c1-400
}

methods() {  # methods DATASET NAME METHOD JSON-SETTINGS [LIMIT]
    step "${5:-240}" "$2" python3 benchmarks/bench_torch_methods.py --dataset "$1" \
        --data-dir "$DATA" --method "$3" --set "$4" --out "$OUT/methods.jsonl"
}

GPU_SGD='"device": "cuda", "optimizer": "sgd", "lr": 0.025, "threads": 0'

case $phase in
electronics)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    python3 -c "import torch, numpy, pandas, numba, pyarrow, pydantic; \
print('torch', torch.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, \
'numba', numba.__version__, 'pyarrow', pyarrow.__version__, 'pydantic', pydantic.__version__)"
    step 120 gpu_tests python3 -m pytest -q -p no:cacheprovider tests/training
    step 150 prepare_electronics python3 benchmarks/bench_prepare.py --preset electronics \
        --scale 1.0 --data-dir "$DATA"
    step 150 throughput python3 benchmarks/bench_skipgram.py --data-dir "$DATA" --device cuda \
        --batch-size 262144 --optimizers sgd --negative-chunks 1,8,32,128 \
        --json "$OUT/throughput.json"
    for batch in 65536 1048576; do
        step 60 "throughput_$batch" python3 benchmarks/bench_skipgram.py --data-dir "$DATA" \
            --device cuda --batch-size "$batch" --optimizers sgd --no-fixed-window \
            --negative-chunks 32,128
    done
    methods synthetic-electronics skipgram_sgd skipgram "{$GPU_SGD, \"batch_size\": 262144}"
    methods synthetic-electronics skipgram_sgd_sub1e-5 skipgram \
        "{$GPU_SGD, \"batch_size\": 262144, \"subsample\": 1e-5}"
    methods synthetic-electronics mf_bias mf_bias '{"device": "cuda", "threads": 0}'
    methods synthetic-electronics mf mf '{"device": "cuda", "threads": 0}'
    methods synthetic-electronics skipgram_adam skipgram \
        '{"device": "cuda", "threads": 0, "batch_size": 65536}'
    methods synthetic-electronics side_info_equal side_info \
        '{"device": "cuda", "threads": 0, "batch_size": 65536, "weighting": "equal"}'
    ;;
chunks)  # negatives shared by chunks: quality per chunk size, the SGD tensor steps' runs
    step 150 prepare_electronics python3 benchmarks/bench_prepare.py --preset electronics \
        --scale 1.0 --data-dir "$DATA"
    step 200 chunk_quality python3 benchmarks/bench_negative_chunk.py --data-dir "$DATA" \
        --device cuda --datasets synthetic-electronics --chunks 1,32,128 \
        --json "$OUT/chunk_quality.json"
    methods synthetic-electronics mf_sequences_sgd mf_sequences '{"device": "cuda", "threads": 0}'
    methods synthetic-electronics side_info_sgd_8192 side_info '{"device": "cuda", "threads": 0}'
    ;;
books)  # fits one 10-minute call: prepare ~3 min, MF ~1.5 min, skip-gram the rest
    step 260 prepare_books python3 benchmarks/bench_prepare.py --preset books --scale 1.0 \
        --data-dir "$DATA"
    methods synthetic-books mf_books mf \
        '{"device": "cuda", "threads": 0, "batch_size": 4096}' 170
    methods synthetic-books node2vec_walks_skipgram_books skipgram \
        "{$GPU_SGD, \"batch_size\": 262144, \"p\": 0.5, \"q\": 2.0, \"epochs\": 2}" 150
    ;;
profile)  # per-step time of skipgram's, side_info's and mf_sequences' GPU steps (tensor SGD
    # with shared negatives) next to side_info's Adam, which trained >8x slower than skipgram
    step 150 prepare_electronics python3 benchmarks/bench_prepare.py --preset electronics \
        --scale 1.0 --data-dir "$DATA"
    GPU65K='"device": "cuda", "threads": 0, "batch_size": 65536'
    for run in "skipgram:{$GPU65K}" \
        "side_info:{$GPU65K, \"optimizer\": \"sgd\"}" \
        "side_info:{\"device\": \"cuda\", \"threads\": 0, \"batch_size\": 8192}" \
        "mf_sequences:{$GPU65K}" \
        "side_info:{$GPU65K, \"preset\": \"study\", \"weighting\": \"equal\", \"context_side_info\": false}" \
        "side_info:{$GPU65K, \"preset\": \"study\", \"weighting\": \"equal\"}" \
        "side_info:{$GPU65K, \"preset\": \"study\", \"weighting\": \"learned\"}"; do
        method=${run%%:*} n=$((${n:-0} + 1))
        step 120 "profile_${n}_$method" python3 benchmarks/profile_steps.py \
            --dataset synthetic-electronics --data-dir "$DATA" --method "$method" \
            --set "${run#*:}"
    done
    ;;
*)
    echo "unknown phase $phase (electronics | chunks | books | profile)" >&2
    exit 2
    ;;
esac
echo "== results"
cut -c1-300 "$OUT/methods.jsonl" 2>/dev/null
grep -h "^|" "$OUT"/throughput*.log 2>/dev/null
