#!/usr/bin/env bash
# Checks that `cargo build -p weir-broker` (README's first command) resolves
# the same features for every crate it shares with a workspace build, so the
# two share their artefacts and switching between them recompiles nothing.
# Prints the crates whose features differ and exits 1 if any do; the fix is
# the "feature alignment" block of broker/Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
tree() { cargo tree "$@" -e normal,build -f '{p} [{f}]' --prefix none --locked 2>/dev/null | sed 's/ (\*)//; s/ (proc-macro)//' | sort -u; }
solo="$(tree -p weir-broker)"
workspace="$(tree --workspace)"
python3 - "$solo" "$workspace" <<'PY'
import re, sys
def units(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\S+ v\S+)(?: \(.*?\))? \[(.*)\]", line.strip())
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2))
    return out
solo, workspace = units(sys.argv[1]), units(sys.argv[2])
# Each unit weir-broker builds alone must be one the workspace builds too
# (the workspace may build more units of a crate for its other members).
bad = {k: (sorted(v), sorted(workspace.get(k, set()))) for k, v in solo.items()
       if not v <= workspace.get(k, set())}
for k, (s, w) in sorted(bad.items()):
    print(f"{k}: weir-broker alone {s}, workspace {w}")
print(f"feature alignment: {len(bad)} crate(s) differ")
sys.exit(1 if bad else 0)
PY
