#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what the repo's .clang-format makes of it.
# Fix with: clang-format -i $(git ls-files '*.cc' '*.h')
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
