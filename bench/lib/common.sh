# Helpers shared by bench/run.sh and bench/formats.sh (sourced). The
# caller sets RUN (its scratch directory) before the first cleanup.

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# servers started by the script, killed on exit with the nginx of $RUN
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "${RUN:-}/nginx/nginx.pid" ] && kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap "exit 143" TERM INT

wait_http() { # url [seconds]
	local i
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		curl -s -o /dev/null -m 2 "$1" && return 0
		sleep 0.1
	done
	die "no answer from $1"
}

median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "n/a"; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{num="^[0-9]+([.][0-9]+)?$"; if(a !~ num || b !~ num || b+0==0) print "n/a"; else printf "%.2fx", a/b}'; }

cpu_ticks() { # pid... -> utime+stime of the processes and their children threads
	local t=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
	done
	echo $t
}

# settle pid...: wait (at most 20 s) until the processes stop using CPU, so
# work queued by one measurement does not load the next.
settle() {
	local a b i
	for ((i = 0; i < 40; i++)); do
		a=$(cpu_ticks "$@")
		sleep 0.5
		b=$(cpu_ticks "$@")
		((b - a < 3)) && return 0
	done
	return 0
}
