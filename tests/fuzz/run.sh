#!/bin/sh
# run.sh ENGINE BINDIR SECONDS JOBS TARGET... — what `make fuzz` runs.
#
# Fuzzes each target for SECONDS with libFuzzer (ENGINE=libfuzzer) or AFL++
# (ENGINE=afl), seeded with the examples, the stdlib, the golden error files
# and the regression corpus (tests/fuzz/corpus/<target>/), with the keyword
# dictionary tests/fuzz/ein.dict.  Prints one line per target with the
# executions done, appends it to build/fuzz/stats.log, and copies every
# crash, leak or hang found into tests/fuzz/corpus/<target>/ (commit it with
# the fix: `make check` replays that folder) and then fails.
set -eu
engine=$1 bindir=$2 seconds=$3 jobs=$4
shift 4
work=build/fuzz
mkdir -p "$work"
found=0

seeds() {   # seeds TARGET DIR: fill DIR with the target's seed corpus
    mkdir -p "$2"
    case "$1" in
    idx) ;;
    *) for f in examples/*.ein stdlib/*.ein tests/errors/*.ein tests/checker/*.ein tests/checker/*/*.ein; do
           [ -f "$f" ] && cp "$f" "$2/$(echo "$f" | tr / _)"
       done ;;
    esac
    for f in tests/fuzz/corpus/"$1"/*; do
        [ -f "$f" ] && cp "$f" "$2/corpus_$(basename "$f")"
    done
    # the parse targets share their regression inputs
    case "$1" in
    check|fmt) for o in check fmt; do
                   for f in tests/fuzz/corpus/$o/*; do [ -f "$f" ] && cp "$f" "$2/corpus_${o}_$(basename "$f")"; done
               done ;;
    esac
    return 0
}

keep() {   # keep TARGET FILE...: move findings into the regression corpus
    t=$1
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        sum=$(sha1sum "$f" | cut -c1-16)
        cp "$f" "tests/fuzz/corpus/$t/found-$sum"
        echo "fuzz: $t: finding kept as tests/fuzz/corpus/$t/found-$sum" >&2
        found=1
    done
}

for t in "$@"; do
    bin=$bindir/fuzz_$t
    seed=$work/$t/seeds
    rm -rf "$work/$t"
    mkdir -p "$work/$t/corpus" "$work/$t/findings" "tests/fuzz/corpus/$t"
    seeds "$t" "$seed"
    log=$work/$t/log
    case "$engine" in
    libfuzzer)
        # Several workers with -fork; each input gets 10 s, 2 GB.
        fork=""
        [ "$jobs" -gt 1 ] && fork="-fork=$jobs -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
        # shellcheck disable=SC2086
        EIN_FUZZ_STDLIB=stdlib "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-4096}" \
            -dict=tests/fuzz/ein.dict -print_final_stats=1 -artifact_prefix="$work/$t/findings/" \
            $fork "$work/$t/corpus" "$seed" >"$log" 2>&1 || true
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        [ -n "$execs" ] || execs=$(grep -o '#[0-9]*' "$log" | tail -1 | tr -d '#')
        keep "$t" "$work/$t"/findings/*
        ;;
    afl)
        AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
        AFL_NO_AFFINITY=1 EIN_FUZZ_STDLIB=stdlib \
            afl-fuzz -i "$seed" -o "$work/$t/afl" -x tests/fuzz/ein.dict -V "$seconds" \
                -t 10000 -m none -- "$bin" >"$log" 2>&1 || true
        stats=$work/$t/afl/default/fuzzer_stats
        execs=$(sed -n 's/^execs_done *: *//p' "$stats" 2>/dev/null || true)
        keep "$t" "$work/$t"/afl/default/crashes/id:* "$work/$t"/afl/default/hangs/id:*
        ;;
    *) echo "fuzz: unknown engine '$engine' (libfuzzer or afl)" >&2; exit 64 ;;
    esac
    [ -n "$execs" ] || { echo "fuzz: $t: the fuzzer did not run, see $log" >&2; tail -20 "$log" >&2; exit 1; }
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $engine $t ${seconds}s execs=$execs"
    echo "fuzz: $line"
    echo "$line" >>"$work/stats.log"
done
[ "$found" -eq 0 ] || { echo "fuzz: findings above: fix them, then commit the corpus files" >&2; exit 1; }
