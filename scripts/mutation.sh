#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the safety-critical modules, each against a fast test subset.
# Not part of the default test run (it takes minutes to hours: see docs/readme/92-test-strength.md).
#
# Usage: scripts/mutation.sh [--list] [module ...]      (no module: all of them, one after another)
#
# Each module runs in a scratch copy of src/, tests/ and pyproject.toml
# ($PATROLCAST_MUT_DIR/<module>, default /tmp/patrolcast-mutation/<module>) whose [tool.mutmut]
# section is narrowed to the module's files and tests, so the working tree is never touched and
# two modules may run side by side. Bounded: each module stops after $PATROLCAST_MUT_TIMEOUT
# seconds (default 1800); mutants not reached are counted "not checked", never as killed.
# Prints one line per module: the score killed / (killed + survived), where a timeout counts as
# killed and a mutant no test reaches as survived. PATROLCAST_MUT_SAMPLE=N scores a seeded uniform
# sample of N of the module's mutants (PATROLCAST_MUT_SEED, default 1; the names are kept in
# <dir>/sample.txt) with a Wilson 95% interval. Mutants listed in docs/mutation/<module>.txt
# ("name: why it is equivalent", one a line) are left out of the score and counted apart. PATROLCAST_MUT_ONLY="glob ..." narrows a run to
# some mutants (e.g. 'patrolcast.io._ingest.x__ingest_file*'); PATROLCAST_MUT_CHILDREN (default 1)
# sets the parallel test processes. Survivors: `cd <dir> && mutmut show NAME`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
root=${PATROLCAST_MUT_DIR:-/tmp/patrolcast-mutation}
limit=${PATROLCAST_MUT_TIMEOUT:-1800}
mutmut=$repo/.venv/bin/mutmut

# module -> "files to mutate | tests to run" (paths relative to the repository; pytest options
# allowed: a test that reads the module's own source, e.g. its imports, fails on mutmut's copy)
# The guards' per-mutant tests: the stratified permission slice (test_mutants_permissions, every
# rule broken alone for every action, about 5 s) stands in for the whole matrix (about 30 s a
# mutant) and the hypothesis state machine (about 15 s); both stay in the default test run.
PERMISSIONS_FAST="tests/governance/test_permissions.py::test_nobody_authorises_own_proposal_even_with_both_roles tests/governance/test_permissions.py::test_propose_only_by_analysts_and_intelligence_officers tests/governance/test_permissions.py::test_an_administrator_or_auditor_never_holds_another_role"
declare -A MODULES=(
  [ingest]="src/patrolcast/io/_ingest.py src/patrolcast/io/_accounting.py|tests/io/test_ingest_bad_files.py tests/io/test_mutants_ingest.py tests/io/test_store.py"
  [governance-guards]="src/patrolcast/governance/guards.py|tests/governance/test_mutants_guards.py tests/governance/test_mutants_guards_trigger.py tests/governance/test_mutants_reads.py tests/governance/test_mutants_permissions.py tests/governance/test_rules.py tests/governance/test_lifecycle.py tests/governance/test_findings_independence.py tests/governance/test_findings_reads.py tests/governance/test_findings_areas.py tests/governance/test_findings_windows.py tests/governance/test_policy_pinning.py --deselect tests/governance/test_findings_areas.py::test_london_borough_list_and_intersections --deselect tests/governance/test_findings_areas.py::test_area_within_a_borough_list $PERMISSIONS_FAST"
  [governance-roles]="src/patrolcast/governance/states.py src/patrolcast/governance/roles.py src/patrolcast/governance/expiry.py|tests/governance/test_mutants_roles.py tests/governance/test_mutants_guards.py tests/governance/test_mutants_permissions.py tests/governance/test_findings_users.py tests/governance/test_time.py tests/governance/test_rules.py tests/governance/test_lifecycle.py $PERMISSIONS_FAST"
  [governance-lifecycle]="src/patrolcast/governance/lifecycle.py src/patrolcast/governance/service.py|tests/governance/test_mutants_lifecycle.py tests/governance/test_lifecycle.py tests/governance/test_findings_independence.py tests/governance/test_findings_windows.py tests/governance/test_policy_pinning.py tests/governance/test_findings_reads.py::test_reads_through_the_service_are_scoped_and_denials_audited tests/governance/test_findings_reads.py::test_read_of_a_missing_proposal_is_audited_and_unknown_actor_not_echoed tests/governance/test_findings_reads.py::test_a_user_with_no_role_reads_nothing"
  [governance-audit]="src/patrolcast/governance/audit.py src/patrolcast/governance/audit_rows.py src/patrolcast/governance/signing.py|tests/governance/test_mutants_audit.py tests/governance/test_audit_rows.py tests/governance/test_audit_tamper.py tests/governance/test_audit_signing.py tests/governance/test_audit_export.py"
  [governance-values]="src/patrolcast/governance/values.py src/patrolcast/governance/places.py src/patrolcast/governance/snapshots.py src/patrolcast/governance/clock.py|tests/governance/test_mutants_values.py tests/governance/test_findings_areas.py tests/governance/test_findings_freetext.py tests/governance/test_findings_windows.py tests/governance/test_time.py tests/governance/test_rules.py --deselect tests/governance/test_findings_areas.py::test_london_borough_list_and_intersections --deselect tests/governance/test_findings_areas.py::test_area_within_a_borough_list"
  [oversight]="src/patrolcast/oversight/suppression.py src/patrolcast/oversight/disclosure.py|tests/oversight/test_suppression.py tests/oversight/test_disclosure.py tests/oversight/test_mutants_suppression.py tests/oversight/test_mutants_disclosure.py"
  [privacy]="src/patrolcast/privacy/personal_data.py|tests/privacy/test_mutants_personal_data.py tests/privacy/test_personal_data.py tests/privacy/test_corpus.py --deselect tests/privacy/test_personal_data.py::test_the_module_imports_only_errors_and_the_standard_library"
  [metrics]="src/patrolcast/evaluate/metrics.py|tests/evaluate/test_metrics.py tests/evaluate/test_mutants_metrics.py"
  [kernels]="src/patrolcast/forecast/kernels.py|tests/forecast/test_kernels.py tests/forecast/test_kde.py tests/forecast/test_mutants_kernels.py"
  [near-repeat]="src/patrolcast/forecast/near_repeat.py|tests/forecast/test_near_repeat.py tests/forecast/test_mutants_near_repeat.py"
  [etas]="src/patrolcast/forecast/etas.py src/patrolcast/forecast/_etas_kernels.py|tests/forecast/test_mutants_etas.py tests/forecast/test_etas.py tests/forecast/test_etas_edge.py::test_kernel_cover_is_the_share_of_a_kernel_inside_the_mask tests/forecast/test_etas_histogram.py::test_engines_agree_on_the_histogram tests/forecast/test_etas_histogram.py::test_bad_edges_are_refused --deselect tests/forecast/test_etas.py::test_parameter_recovery_20k_events_within_10_percent --deselect tests/forecast/test_etas.py::test_fit_engines_agree_on_simulated_data --deselect tests/forecast/test_etas.py::test_persistent_hot_spots_are_not_passed_off_as_triggering --deselect tests/forecast/test_etas.py::test_day_precision_jitter_keeps_cutoff --deselect tests/forecast/test_etas.py::test_prediction_terms_and_decay --deselect tests/forecast/test_etas.py::test_conditioning_adds_new_events_without_refitting"
)
ORDER=(oversight governance-guards governance-roles governance-audit governance-lifecycle
       governance-values privacy metrics kernels near-repeat etas ingest)

if [ "${1:-}" = "--list" ]; then
  for m in "${ORDER[@]}"; do echo "$m: ${MODULES[$m]%%|*}"; done
  exit 0
fi
[ -x "$mutmut" ] || { echo "mutmut is not installed: .venv/bin/pip install -e '.[dev]'" >&2; exit 2; }
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${ORDER[@]}")
for m in "${selected[@]}"; do
  [ -n "${MODULES[$m]:-}" ] || { echo "unknown module $m (see --list)" >&2; exit 2; }
done

run_module() {
  local m=$1 files tests dir
  files=${MODULES[$m]%%|*}
  tests=${MODULES[$m]#*|}
  dir=$root/$m
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$repo" && tar --exclude=__pycache__ -cf - src tests bench pyproject.toml) | (cd "$dir" && tar -xf -)
  # in the copy only: a failing hypothesis example is enough to kill a mutant, so no shrinking
  # (shrinking a mutant's failure can outlast the timeout), and no deadline (a deadline missed
  # on a loaded machine would count a surviving mutant as killed)
  cat >>"$dir/tests/conftest.py" <<'EOF'


from hypothesis import Phase as _Phase
from hypothesis import settings as _settings

_settings.register_profile(
    "mutation", phases=[_Phase.explicit, _Phase.reuse, _Phase.generate], deadline=None
)
_settings.load_profile("mutation")
EOF
  # narrow [tool.mutmut] to this module (the rest of pyproject.toml is kept as it is)
  "$repo/.venv/bin/python" - "$dir/pyproject.toml" "$files" "$tests" <<'EOF'
import json, re, sys
path, files, tests = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
text = open(path, encoding="utf-8").read()
text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
text += (
    "\n[tool.mutmut]\n"
    'source_paths = ["src"]\n'
    f"only_mutate = {json.dumps(files)}\n"
    f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    'pytest_add_cli_args = ["-p", "no:cacheprovider", '
    '"-m", "not slow and not postgres and not realdata", "-o", "addopts="]\n'
    'also_copy = ["bench"]\n'  # tests/privacy/test_corpus.py reads bench/pii_eval.py
    "use_git_change_detection = false\n"
    'process_isolation = "forkserver"\n'  # ingest's thread pools do not survive a plain fork
)
open(path, "w", encoding="utf-8").write(text)
EOF
  # at least niceness 10; a caller's higher niceness (e.g. nice -n 15) is kept, not added to
  local start=$SECONDS rc=0 inc=$((10 - $(nice)))
  [ "$inc" -ge 0 ] || inc=0
  local only=${PATROLCAST_MUT_ONLY:-}
  if [ -n "${PATROLCAST_MUT_SAMPLE:-}" ]; then
    # a seeded uniform sample of the module's mutants: generate them and map the tests once
    # (a name that matches nothing stops mutmut right after that), list every mutant, draw
    (cd "$dir" && PATROLCAST_SHARED_DATA=/nonexistent timeout "$limit" nice -n "$inc" \
       "$mutmut" run --max-children "${PATROLCAST_MUT_CHILDREN:-1}" 'patrolcast.no_such_mutant' \
       >"$dir/generate.log" 2>&1) || true
    (cd "$dir" && "$mutmut" results --all true 2>/dev/null) | awk -F: '/__mutmut_/ {gsub(/ /, "", $1); print $1}' \
      >"$dir/all-mutants.txt"
    only=$("$repo/.venv/bin/python" - "$dir" "$PATROLCAST_MUT_SAMPLE" "${PATROLCAST_MUT_SEED:-1}" <<'EOF'
import random, sys
from pathlib import Path
d, n, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
names = sorted(set((d / "all-mutants.txt").read_text().split()))
if not names:
    sys.exit(f"no mutants listed; see {d}/generate.log")
sample = sorted(random.Random(seed).sample(names, min(n, len(names))))
(d / "sample.txt").write_text("".join(f"{x}\n" for x in sample))
print(" ".join(sample))
EOF
) || { echo "$m: could not draw a sample; see $dir/generate.log" >&2; return 0; }
  fi
  (cd "$dir" && PATROLCAST_SHARED_DATA=/nonexistent timeout "$limit" nice -n "$inc" \
     "$mutmut" run --max-children "${PATROLCAST_MUT_CHILDREN:-1}" $only \
     >"$dir/run.log" 2>&1) || rc=$?
  (cd "$dir" && "$mutmut" results --all true 2>/dev/null) >"$dir/results.txt" || true
  "$repo/.venv/bin/python" - "$dir" "$m" $((SECONDS - start)) "$rc" "$repo/docs/mutation/$m.txt" <<'EOF'
import math, sys
from pathlib import Path
d, m, secs, rc = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# accepted equivalent mutants, "name: why" one a line (docs/mutation/<module>.txt): left out
eq_file = Path(sys.argv[5])
equivalent = set()
if eq_file.exists():
    for line in eq_file.read_text(encoding="utf-8").splitlines():
        name = line.split(":", 1)[0].strip()
        if "__mutmut_" in name and not line.lstrip().startswith("#"):
            equivalent.add(name)
# status of every mutant of the module, as `mutmut results --all true` prints it
status = {}
for line in (d / "results.txt").read_text().splitlines():
    name, _, state = line.strip().rpartition(": ")
    if "__mutmut_" in name:
        status[name] = state.strip()
if not status:
    print(f"{m}: no results (exit {rc}); see {d}/run.log")
    sys.exit(0)
sample_file = d / "sample.txt"
chosen = sample_file.read_text().split() if sample_file.exists() else sorted(status)
eq = [x for x in chosen if x in equivalent]
states = [status.get(x, "not checked") for x in chosen if x not in equivalent]
detected = ("killed", "timeout", "segfault")  # a timeout or crash counts as killed
missed = ("survived", "no tests", "suspicious")  # a mutant no test reaches counts as survived
k = sum(s.startswith(detected) for s in states)
sv = sum(s.startswith(missed) for s in states)
nc = len(states) - k - sv
if k + sv:
    n, p, z = k + sv, k / (k + sv), 1.96  # Wilson 95% interval of the killed share
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    score = f"{100 * p:.0f}% (95% {100 * (c - h):.0f}-{100 * (c + h):.0f}%)"
else:
    score = "n/a"
what = f"sample of {len(chosen)} of {len(status)} mutants" if sample_file.exists() else f"{len(status)} mutants"
stopped = " (stopped at the time limit)" if rc == 124 else ""
print(f"{m}: {score} killed, {what}: {k} killed, {sv} survived or untested, {nc} not checked, "
      f"{len(eq)} accepted equivalents left out; "
      f"in {secs} s{stopped}; list: cd {d} && mutmut results")
EOF
}

for m in "${selected[@]}"; do run_module "$m"; done
