#!/usr/bin/env bash
# Accuracy of fuzzy duplicate detection (issue 4) on the labelled linkage sets of
# ../shared/data/linkage: precision, recall, F1 and candidate pairs.
#
#   bash bench/duplicates_accuracy.sh
#
# Builds and installs the extension, starts a throwaway cluster (removed at the end), and loads each
# data set into its own workspace through plain INSERTs, one statement per record in file order
# (bench.load in bench/sql/duplicates_accuracy.sql), so the write trigger compares every record
# with those that arrived before it, with the default model:
#   febrl1, febrl2, febrl3   FEBRL datasets 1-3, duplicates within the file (people)
#   febrl4                   dataset4a then dataset4b in one workspace; the true pairs are the 5,000
#                            links rec-N-org <-> rec-N-dup-0 (no true pair lies within one file)
#   fake_1000                splink's fake_1000 (people; cluster = truth)
#   restaurants              dedupe's restaurant-nophone-training.csv (companies; unique_id = truth)
# Mapping (a CRM import): FEBRL given_name -> first_name, surname -> last_name, street_number and
# address_1 -> street, suburb -> city, postcode -> postal_code, state -> region, country 'AU',
# date_of_birth -> birth_date when a valid date; address_2, the raw date_of_birth, soc_sec_id and
# rec_id go into attributes. fake_1000: first_name, surname, dob, city, email. Restaurants: name,
# address -> street, city, cuisine into attributes. Empty strings are NULL.
#
# For each set, three stages, each measured two ways:
#   write     after the load (the trigger's candidates, default model)
#   scan      after SELECT crm.scan_duplicates(kind) (should equal write; the pairs are compared)
#   trained   after SELECT crm.train_duplicate_model(kind) and another scan_duplicates
# "sets": every pair of records in one crm.duplicate_sets set is a predicted pair (the issue's
# measure); "candidates": the open pairs of crm.duplicate_candidate. The sets are also compared
# with connected components of the open candidates computed here (bench.components): they are
# those components cut at bridges between groups of two or more records.
# Results: stdout and bench/out/duplicates_accuracy.md; false negatives and false positives at
# write (first 30 of each, both records, profiles, evidence) in
# bench/out/duplicates_errors_<data set>.txt; trained models in bench/out/duplicates_model_<set>.json;
# psql output in bench/out/duplicates_accuracy.log.
#
# Knobs: BENCH_LINKAGE_DIR (default ../shared/data/linkage), BENCH_DUP_SETS (default: all six),
# BENCH_DUP_TIMEOUT=600 (seconds any one step may take), BENCH_SKIP_BUILD=1.
source "$(dirname "$0")/lib.sh"
DATA=${BENCH_LINKAGE_DIR:-$BENCH_ROOT/../shared/data/linkage}
SETS=${BENCH_DUP_SETS:-febrl1 febrl2 febrl3 febrl4 fake_1000 restaurants}
TIMEOUT=${BENCH_DUP_TIMEOUT:-600}
report="$BENCH_OUT/duplicates_accuracy.md"
raw="$BENCH_OUT/duplicates_accuracy.log"

if [ ! -d "$DATA/febrl" ] && [ ! -d "$DATA/splink_fake_1000" ] && [ ! -d "$DATA/dedupe_restaurants" ]; then
  echo "duplicates_accuracy: skipped: the labelled data sets are absent ($DATA: expected febrl/, splink_fake_1000/, dedupe_restaurants/; see ../shared/data/README.md)" >&2
  exit 0
fi
: >"$raw"

bench_build
bench_start
q -f "$BENCH_DIR/sql/duplicates_accuracy.sql" >>"$raw"

# The raw lines of one file into bench.raw_line (whole lines: no delimiter or quote occurs in them).
load_file() {  # label path
  if [ ! -f "$2" ]; then log "absent: $2 (skipped)"; return; fi
  q -c "SET bench.file = '$1'" \
    -c "COPY bench.raw_line (line) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER E'\\x01', QUOTE E'\\x02')" <"$2"
}
wanted() { case " $SETS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
wanted febrl1 && load_file dataset1 "$DATA/febrl/dataset1.csv"
wanted febrl2 && load_file dataset2 "$DATA/febrl/dataset2.csv"
wanted febrl3 && load_file dataset3 "$DATA/febrl/dataset3.csv"
if wanted febrl4; then
  load_file dataset4a "$DATA/febrl/dataset4a.csv"
  load_file dataset4b "$DATA/febrl/dataset4b.csv"
fi
wanted fake_1000 && load_file fake_1000 "$DATA/splink_fake_1000/fake_1000.csv"
wanted restaurants && load_file restaurants "$DATA/dedupe_restaurants/restaurant-nophone-training.csv"
q -c "SELECT bench.prepare()" >/dev/null
log "staged: $(q -F ' ' -c "SELECT string_agg(ds || ' ' || n, ', ' ORDER BY ds) FROM (SELECT ds, count(*) n FROM bench.rec GROUP BY ds) x")"

# One statement in the data set's workspace, timed (psql \timing) under statement_timeout; prints
# "<ms> <ok|timeout|error> <first output line>"; NOTICEs (progress) go to the log, not the value.
in_ws() {  # workspace sql
  local out rc ms
  set +e
  out=$(PGOPTIONS="${PGOPTIONS:-} -c crm.workspace=$1 -c statement_timeout=${TIMEOUT}s" \
        psql -X -q -At -v ON_ERROR_STOP=1 -c '\timing on' -c "$2" 2>"$BENCH_OUT/.dup_stderr")
  rc=$?
  set -e
  cat "$BENCH_OUT/.dup_stderr" >>"$raw"
  ms=$(printf '%s\n' "$out" | sum_timing)
  if [ $rc -eq 0 ]; then
    echo "$ms ok $(printf '%s\n' "$out" | grep -v '^Time: ' | head -1)"
  elif grep -q 'statement timeout' "$BENCH_OUT/.dup_stderr"; then
    echo "$((TIMEOUT * 1000)) timeout >${TIMEOUT}s"
  else
    echo "0 error $(grep -m1 ERROR "$BENCH_OUT/.dup_stderr")"
  fi
}
ms_of() { printf '%.0f' "$(echo "$1" | cut -d' ' -f1)"; }
status_of() { echo "$1" | cut -d' ' -f2; }
value_of() { echo "$1" | cut -d' ' -f3-; }
sqlstr() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
measure() {  # ds stage ms note (a failure is reported, not fatal)
  local err
  if ! err=$(q -c "SELECT bench.measure('$1', '$2', $3, $(sqlstr "$4"))" 2>&1 >/dev/null); then
    notes+="- $1: measuring stage $2 failed: $(printf '%s' "$err" | grep -m1 ERROR)"$'\n'
    log "$1: measuring $2 failed: $err"
  fi
}

notes=""
for ds in $(q -c "SELECT ds FROM bench.dataset ORDER BY pos"); do
  ws=$(q -c "SELECT workspace_id FROM bench.dataset WHERE ds = '$ds'")
  kind=$(q -c "SELECT kind FROM bench.dataset WHERE ds = '$ds'")
  n=$(q -c "SELECT count(*) FROM bench.rec WHERE ds = '$ds'")
  echo "== $ds ($kind, $n records, workspace $ws)" >>"$raw"

  log "$ds: inserting $n records one statement each"
  r=$(in_ws "$ws" "SELECT bench.load('$ds')")
  echo "load: $r" >>"$raw"
  if [ "$(status_of "$r")" != ok ]; then
    notes+="- $ds: the load failed: $(value_of "$r")"$'\n'
    log "$ds: load failed: $r"
    continue
  fi
  ms=$(ms_of "$r")
  progress=$(q -c "SELECT string_agg(format('%s: %s ms', n, round(((ms - coalesce(lag_ms, 0)) / (n - coalesce(lag_n, 0)))::numeric, 2)), ', ' ORDER BY n)
                   FROM (SELECT n, ms, lag(ms) OVER (ORDER BY n) AS lag_ms, lag(n) OVER (ORDER BY n) AS lag_n
                         FROM bench.load_progress WHERE ds = '$ds') x")
  log "$ds: loaded in $ms ms (ms per record, by 1,000: $progress)"
  notes+="- $ds: load $ms ms; ms per record in each 1,000 records (rows reached: ms per record): $progress"$'\n'
  q -c "VACUUM ANALYZE crm.person, crm.company, crm.match_profile, crm.duplicate_candidate" 2>>"$raw" || true
  measure "$ds" write "$ms" "load of $n records, $(awk -v m="$ms" -v n="$n" 'BEGIN {printf "%.2f", m / n}') ms per record"
  log "$ds: writing the errors at write"
  q -c "SELECT bench.errors('$ds', 30)" >"$BENCH_OUT/duplicates_errors_$ds.txt" 2>>"$raw" \
    || log "$ds: the error listing failed (see $raw)"

  # Scan: should find what the trigger found.
  q -c "SELECT bench.snapshot('$ds')" >/dev/null 2>>"$raw" || log "$ds: snapshot of the candidates failed"
  r=$(in_ws "$ws" "SELECT crm.scan_duplicates('$kind')")
  echo "scan: $r" >>"$raw"
  notice=$(grep -m1 NOTICE "$BENCH_OUT/.dup_stderr" | sed 's/^NOTICE: *//' || true)
  if [ "$(status_of "$r")" = ok ]; then
    cmp=$(q -c "SELECT bench.compare_snapshot('$ds')" 2>>"$raw" || echo 'comparison failed')
    { echo "differences between the trigger's candidates (before) and the scan's (after), examples:"
      q -c "SELECT bench.snapshot_examples('$ds', 5)" 2>&1 || true; } >>"$raw"
    measure "$ds" scan "$(ms_of "$r")" "scan returned $(value_of "$r"); against the trigger's candidates: $cmp"
    notes+="- $ds: \`scan_duplicates('$kind')\` returned $(value_of "$r") in $(ms_of "$r") ms (${notice:-no notice}); against the trigger's candidates: $cmp"$'\n'
    log "$ds: scan returned $(value_of "$r") in $(ms_of "$r") ms; $cmp"
  else
    notes+="- $ds: scan_duplicates failed: $(value_of "$r")"$'\n'
    log "$ds: scan failed: $r"
  fi

  # Trained model, then a scan with it.
  t=$(in_ws "$ws" "SELECT crm.train_duplicate_model('$kind')")
  echo "train: $t" >>"$raw"
  if [ "$(status_of "$t")" = ok ]; then
    value_of "$t" >"$BENCH_OUT/duplicates_model_$ds.json"
    r=$(in_ws "$ws" "SELECT crm.scan_duplicates('$kind')")
    echo "scan with the trained model: $r" >>"$raw"
    if [ "$(status_of "$r")" = ok ]; then
      measure "$ds" trained "$(( $(ms_of "$t") + $(ms_of "$r") ))" "training $(ms_of "$t") ms + scan $(ms_of "$r") ms (returned $(value_of "$r"))"
      notes+="- $ds: \`train_duplicate_model('$kind')\` $(ms_of "$t") ms (model in bench/out/duplicates_model_$ds.json), then the scan returned $(value_of "$r") in $(ms_of "$r") ms"$'\n'
    else
      notes+="- $ds: scan_duplicates with the trained model failed: $(value_of "$r")"$'\n'
    fi
  else
    notes+="- $ds: train_duplicate_model failed: $(value_of "$t")"$'\n'
    log "$ds: training failed: $t"
  fi

  # Calibration: the default model with its candidate threshold lowered to 0.5 and a scan, so that
  # the scores below the threshold are seen too; every open pair, true or not, by score.
  c=$(in_ws "$ws" "INSERT INTO crm.duplicate_model (workspace_id, kind, model)
                   VALUES ($ws, '$kind', jsonb_set(crm.default_duplicate_model('$kind'), '{threshold}', '0.5'))
                   ON CONFLICT (workspace_id, kind) DO UPDATE SET model = EXCLUDED.model, trained_at = NULL")
  r=$(in_ws "$ws" "SELECT crm.scan_duplicates('$kind')")
  if [ "$(status_of "$c")" = ok ] && [ "$(status_of "$r")" = ok ]; then
    q -c "INSERT INTO bench.calibration (ds, score, same_entity)
          SELECT '$ds', c.score, a.entity = b.entity FROM crm.duplicate_candidate c
          JOIN bench.rec a ON a.ds = '$ds' AND a.record_id = c.record_id
          JOIN bench.rec b ON b.ds = '$ds' AND b.record_id = c.other_id
          WHERE c.workspace_id = $ws AND c.kind = '$kind' AND c.status = 'open'" >/dev/null 2>>"$raw" \
      || log "$ds: collecting the calibration pairs failed"
  else
    notes+="- $ds: the calibration scan failed: $(value_of "$c") $(value_of "$r")"$'\n'
  fi
done

checks=$(q -c "SELECT string_agg(format('%s %s: %s stray', ds, stage, stray), '; ' ORDER BY ds, stage)
               FROM bench.result WHERE stray <> 0")
# Sets are the candidates' connected components cut at bridges between groups of two or more
# (src/core/match/sets.hpp): how many records each stage's cuts put in a set other than their
# component's.
cuts=$(q -c "SELECT string_agg(format('%s %s: %s', ds, stage, components_differ), ', ' ORDER BY ds, stage)
             FROM bench.result WHERE components_differ <> 0")
{
  echo "### duplicates_accuracy: \`bash bench/duplicates_accuracy.sh\`"
  echo
  bench_machine | grep -v '^- seeding'
  echo "- data: $DATA (FEBRL 1-4, splink fake_1000, dedupe restaurant-nophone-training.csv), each set in its own workspace, inserted one statement per record in file order; whole script $SECONDS s"
  echo
  q -c "SELECT bench.report()"
  echo
  echo "Precision, recall and F1 in **bold** are over the pairs of records in one crm.duplicate_sets set (the issue's measure);"
  echo "\"candidates\" are over the open rows of crm.duplicate_candidate. Time: the load (write), the scan (scan), training + scan (trained)."
  echo
  printf '%s' "$notes"
  if [ -n "$checks" ]; then
    echo "- **inconsistencies**: $checks"
  elif [ "$(q -c "SELECT count(*) FROM bench.result")" -gt 0 ]; then
    echo "- no candidate or set names a record outside its data set."
  fi
  echo "- records whose set is not their whole connected component of open candidates (cut at a bridge between two groups): ${cuts:-none}"
  echo
  echo "Reliability of the default model's score (every pair scoring at least 0.5 once the threshold is lowered to 0.5, all data sets pooled; precision: the share that are true duplicates):"
  echo
  q -c "SELECT bench.reliability()"
  echo
  echo "- errors at write (first 30 false negatives and false positives of each set, with both records, profiles and evidence): bench/out/duplicates_errors_<set>.txt"
} | tee "$report"
