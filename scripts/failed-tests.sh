#!/usr/bin/env bash
# failed-tests.sh LOG...: the output of every test that failed in the given `go test -v` logs,
# from its `=== RUN` line to its `--- FAIL` line (the last 80 lines of it), so that a red CI run
# shows the errors Terraform printed, which the live filter of make test leaves out.
set -uo pipefail
for log in "$@"; do
  [ -f "$log" ] || continue
  grep -E '^--- FAIL: ' "$log" | awk '{print $3}' | sort -u | while read -r name; do
    echo "----- $name ($log)"
    awk -v name="$name" '
      $0 == "=== RUN   " name { on = 1; n = 0 }
      on { buf[n++] = $0 }
      on && index($0, "--- FAIL: " name " ") == 1 { on = 0; from = n > 80 ? n - 80 : 0; for (i = from; i < n; i++) print buf[i]; exit }
    ' "$log"
  done
done
