#!/bin/sh
# Pastes `dreamvideo settings --markdown` between the settings-table markers of docs/cli.md.
set -e
cd "$(dirname "$0")/.."
bin=${1:-.build/release/dreamvideo}
table=$("$bin" settings --markdown)
python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1]
p = 'docs/cli.md'
s = open(p).read()
s = re.sub(r'(<!-- settings-table -->\n).*?(\n?<!-- /settings-table -->)', lambda m: m.group(1) + table.rstrip('\n') + '\n' + m.group(2).lstrip('\n'), s, flags=re.S)
open(p, 'w').write(s)
PY
