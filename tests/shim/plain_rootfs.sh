#!/usr/bin/env bash
# Lays out the plain image's files for runc: the zerohop binary at /zerohop with the shared
# libraries it links (as ldd lists them, at the same paths), and the app at /app.
#
#   plain_rootfs.sh ZEROHOP APP-DIR OUT-DIR
#
# Stands in for `zerohop image build`'s plain form (branch oci) until that is merged.
set -euo pipefail
zerohop=$1 app=$2 out=$3
mkdir -p "$out/app" "$out/tmp"
cp "$zerohop" "$out/zerohop"
cp -r "$app/." "$out/app/"
ldd "$zerohop" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
