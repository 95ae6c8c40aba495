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
# killed and a mutant no test reaches as survived. PATROLCAST_MUT_ONLY="glob ..." narrows a run to
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
  [governance-guards]="src/patrolcast/governance/guards.py|tests/governance/test_mutants_guards.py tests/governance/test_mutants_guards_trigger.py tests/governance/test_mutants_permissions.py tests/governance/test_rules.py tests/governance/test_lifecycle.py tests/governance/test_findings_independence.py tests/governance/test_findings_reads.py tests/governance/test_findings_areas.py tests/governance/test_findings_windows.py tests/governance/test_policy_pinning.py --deselect tests/governance/test_findings_areas.py::test_london_borough_list_and_intersections --deselect tests/governance/test_findings_areas.py::test_area_within_a_borough_list $PERMISSIONS_FAST"
  [governance-roles]="src/patrolcast/governance/states.py src/patrolcast/governance/roles.py src/patrolcast/governance/expiry.py|tests/governance/test_mutants_roles.py tests/governance/test_mutants_guards.py tests/governance/test_mutants_permissions.py tests/governance/test_findings_users.py tests/governance/test_time.py tests/governance/test_rules.py tests/governance/test_lifecycle.py $PERMISSIONS_FAST"
  [governance-lifecycle]="src/patrolcast/governance/lifecycle.py src/patrolcast/governance/service.py|tests/governance/test_lifecycle.py tests/governance/test_state_machine.py tests/governance/test_findings_independence.py tests/governance/test_findings_windows.py tests/governance/test_policy_pinning.py"
  [governance-audit]="src/patrolcast/governance/audit.py src/patrolcast/governance/audit_rows.py src/patrolcast/governance/signing.py|tests/governance/test_audit_rows.py tests/governance/test_audit_tamper.py tests/governance/test_audit_signing.py tests/governance/test_audit_export.py"
  [governance-values]="src/patrolcast/governance/values.py src/patrolcast/governance/places.py src/patrolcast/governance/snapshots.py src/patrolcast/governance/clock.py|tests/governance/test_findings_areas.py tests/governance/test_findings_freetext.py tests/governance/test_findings_windows.py tests/governance/test_time.py tests/governance/test_rules.py --deselect tests/governance/test_findings_areas.py::test_london_borough_list_and_intersections --deselect tests/governance/test_findings_areas.py::test_area_within_a_borough_list"
  [oversight]="src/patrolcast/oversight/suppression.py src/patrolcast/oversight/disclosure.py|tests/oversight/test_suppression.py tests/oversight/test_disclosure.py tests/oversight/test_mutants_suppression.py tests/oversight/test_mutants_disclosure.py"
  [privacy]="src/patrolcast/privacy/personal_data.py|tests/privacy/test_mutants_personal_data.py tests/privacy/test_personal_data.py tests/privacy/test_corpus.py --deselect tests/privacy/test_personal_data.py::test_the_module_imports_only_errors_and_the_standard_library"
  [metrics]="src/patrolcast/evaluate/metrics.py|tests/evaluate/test_metrics.py tests/evaluate/test_mutants_metrics.py"
  [kernels]="src/patrolcast/forecast/kernels.py|tests/forecast/test_kernels.py tests/forecast/test_kde.py"
  [near-repeat]="src/patrolcast/forecast/near_repeat.py|tests/forecast/test_near_repeat.py"
  [etas]="src/patrolcast/forecast/etas.py src/patrolcast/forecast/_etas_kernels.py|tests/forecast/test_etas.py"
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
  (cd "$dir" && PATROLCAST_SHARED_DATA=/nonexistent timeout "$limit" nice -n "$inc" \
     "$mutmut" run --max-children "${PATROLCAST_MUT_CHILDREN:-1}" ${PATROLCAST_MUT_ONLY:-} \
     >"$dir/run.log" 2>&1) || rc=$?
  (cd "$dir" && "$mutmut" export-cicd-stats >/dev/null 2>&1) || true
  "$repo/.venv/bin/python" - "$dir" "$m" $((SECONDS - start)) "$rc" <<'EOF'
import json, sys
from pathlib import Path
d, m, secs, rc = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p = d / "mutants" / "mutmut-cicd-stats.json"
if not p.exists():
    print(f"{m}: no results (exit {rc}); see {d}/run.log")
    sys.exit(0)
s = json.loads(p.read_text())
k = s["killed"] + s.get("timeout", 0) + s.get("segfault", 0)  # detected
sv = s["survived"] + s.get("no_tests", 0) + s.get("suspicious", 0)  # not detected
nc = s["total"] - k - sv - s.get("skipped", 0)
score = f"{100 * k / (k + sv):.0f}%" if k + sv else "n/a"
stopped = " (stopped at the time limit)" if rc == 124 else ""
print(f"{m}: {score} killed ({k} killed, {sv} survived or untested, {nc} not checked) "
      f"in {secs} s{stopped}; list: cd {d} && mutmut results")
EOF
}

for m in "${selected[@]}"; do run_module "$m"; done
