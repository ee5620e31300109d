#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/model/check_ring.sh - model-check the ring's two sleep handshakes with
# spin: the doorbell (ring_doorbell.pml) and the full-ring futex
# (ring_space.pml). With all fences pan must find no invalid end state (no
# lost wakeup); with a fence removed it must find one, so that each model is
# seen to catch the bug it rules out.
#
# Usage: tests/model/check_ring.sh [MODEL_DIR]
# Exit: 0 when all three verdicts hold, 1 when one does not, 77 when spin or
# a C compiler is missing.
set -u

dir=$(cd "${1:-$(dirname "$0")}" && pwd) || exit 1
cc=${CC_MODEL:-cc}
command -v spin >/dev/null 2>&1 || { echo "check_ring: spin not installed"; exit 77; }
command -v "$cc" >/dev/null 2>&1 || { echo "check_ring: no C compiler ($cc)"; exit 77; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
cp "$dir/ring_doorbell.pml" "$dir/ring_space.pml" "$work/" || exit 1
cd "$work" || exit 1

# verdict MODEL NAME WANT_ERRORS SPIN_DEFINES...: run pan, compare its error count.
verdict() {
	model=$1 name="$1: $2" want=$3
	shift 3
	rm -f pan pan.c pan.log
	if ! spin "$@" -a "$model" >spin.log 2>&1; then
		echo "check_ring: $name: spin failed"; cat spin.log; return 1
	fi
	if ! "$cc" -O1 -DSAFETY -o pan pan.c >cc.log 2>&1; then
		echo "check_ring: $name: compiling pan failed"; cat cc.log; return 1
	fi
	./pan -m100000 >pan.log 2>&1
	got=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log)
	states=$(sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' pan.log)
	if [ -z "$got" ]; then
		echo "check_ring: $name: no verdict from pan"; cat pan.log; return 1
	fi
	if [ "$want" = 0 ] && [ "$got" != 0 ]; then
		echo "check_ring: $name: lost wakeup found"; cat pan.log
		spin "$@" -t -p "$model" | tail -40; return 1
	fi
	if [ "$want" != 0 ] && [ "$got" = 0 ]; then
		echo "check_ring: $name: pan found no lost wakeup; the model no longer shows the bug"
		return 1
	fi
	echo "check_ring: $name: errors $got, $states states (as expected)"
	return 0
}

ok=0
verdict ring_doorbell.pml "both fences" 0 -DFENCES=1 || ok=1
verdict ring_doorbell.pml "no producer fence" 1 -DPRODUCER_FENCE=0 -DCONSUMER_FENCE=1 || ok=1
verdict ring_doorbell.pml "no consumer fence" 1 -DPRODUCER_FENCE=1 -DCONSUMER_FENCE=0 || ok=1
verdict ring_space.pml "both fences" 0 -DFENCES=1 || ok=1
verdict ring_space.pml "no consumer fence" 1 -DCONSUMER_FENCE=0 -DPRODUCER_FENCE=1 || ok=1
exit $ok
