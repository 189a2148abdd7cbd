#!/usr/bin/env bash
# bench/run.sh [--quick] [--profile] [--no-go-bench] [--only PARTS] [--servers LIST] [--heap-profile]
#
# Side-by-side benchmark of this registry (A), Verdaccio (B) and nginx
# serving the same files (C). See bench/README.md. Writes
# bench/results/<date>-<host>.md and bench/results/LATEST.md.
#
# Environment: BENCH_DIR (scratch, default /tmp/registry-bench; the npm
# mirror and Verdaccio install are kept there between runs), BENCH_PORT
# (first of seven ports, default 17380), VERDACCIO_VERSION (default 6.8.0, the last that runs on Node 20),
# and the counts below (RUNS, COLD_RUNS, WRK_SECONDS, ...).
# BENCH_REGISTRY_ARGS: extra flags for the registry (e.g. --memory-limit).
# --only PARTS runs some parts (comma-separated: warm, cold, wrk, fanin,
# memory, formats, gobench; the warm-up and idle RSS always run) and writes
# bench/results/<date>-<host>-<parts>.md, leaving LATEST.md alone.
# --servers LIST limits the servers (e.g. A,C: no Verdaccio).
# --heap-profile takes Go heap profiles of A (idle, after wrk, after the
# big packument) through --debug-listen (sampling every 64 KiB) and adds
# their top to the report.
set -euo pipefail

QUICK=0 PROFILE=0 GOBENCH=1 ONLY= SERVERS=A,B,C HEAP=0
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--profile) PROFILE=1 ;;
	--no-go-bench) GOBENCH=0 ;;
	--only) ONLY=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--heap-profile) HEAP=1 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
part() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
on() { [[ ",$SERVERS," == *",$1,"* ]]; }
on A || { echo "--servers must include A" >&2; exit 2; }
part gobench || GOBENCH=0

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
W=${BENCH_DIR:-/tmp/registry-bench}
PORT0=${BENCH_PORT:-17380}
VERDACCIO_VERSION=${VERDACCIO_VERSION:-6.8.0}
if [ $QUICK = 1 ]; then
	: "${RUNS:=2}" "${COLD_RUNS:=1}" "${WRK_SECONDS:=5}" "${WRK_CONNS:=4}" "${FANIN_CLIENTS:=100}" "${FANIN_ROUNDS:=1}"
	: "${HUGE_MB:=30}" "${HUGE_CLIENTS:=10}" "${GOBENCHTIME:=20x}"
else
	: "${RUNS:=5}" "${COLD_RUNS:=3}" "${WRK_SECONDS:=10}" "${WRK_CONNS:=8}" "${FANIN_CLIENTS:=100}" "${FANIN_ROUNDS:=3}"
	: "${HUGE_MB:=30}" "${HUGE_CLIENTS:=50}" "${GOBENCHTIME:=300ms}"
fi

PDBG=$((PORT0 + 7))
PA=$((PORT0 + 1)) PB=$((PORT0 + 2)) PC=$((PORT0 + 3)) PU=$((PORT0 + 4)) PA2=$((PORT0 + 5)) PB2=$((PORT0 + 6))
NGINX=http://127.0.0.1:$PC
COUNTING=http://127.0.0.1:$PU
CORGI='application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'
TCK=$(getconf CLK_TCK)

# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
for t in go node npm nginx wrk aws curl; do command -v $t >/dev/null || die "$t not found (see bench/README.md)"; done

mkdir -p "$W"
exec 9>"$W/.lock"
flock -n 9 || die "another bench/run.sh is using $W"
RUN=$W/run
# an nginx left by an interrupted run
[ -f "$RUN/nginx/nginx.pid" ] && kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null && sleep 1
rm -rf "$RUN"
mkdir -p "$RUN"/{logs,tmp}
RESULTS=$RUN/results.md
: >"$RESULTS"
out() { printf '%s\n' "$*" >>"$RESULTS"; }


# ---------------------------------------------------------------- build
log "building registry and benchtool"
# The registry runs installed (install(1) copies it), as nginx and node
# are: a file the Go linker has just written sits in the page cache in
# folios of up to 2 MB (it writes through a shared mapping of the
# fallocated file), and a kernel with large folios (6.x) maps such a
# folio whole, so the same binary run straight from `go build -o` shows
# its whole text, 4-5 MB more, as resident.
BUILT=${BENCH_REGISTRY_BIN:-} # a prebuilt binary (e.g. of another commit)
if [ -z "$BUILT" ]; then
	BUILT=$RUN/registry.built
	(cd "$ROOT" && go build -o "$BUILT" ./cmd/registry)
fi
install -m 0755 "$BUILT" "$RUN/registry"
(cd "$ROOT" && go build -o "$RUN/benchtool" ./bench/benchtool)
REG=$RUN/registry
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || COMMIT="$COMMIT (+ uncommitted changes)"

# ---------------------------------------------------------------- verdaccio
VD=$W/verdaccio-$VERDACCIO_VERSION
if [ ! -x "$VD/node_modules/.bin/verdaccio" ]; then
	log "installing verdaccio@$VERDACCIO_VERSION into $VD"
	mkdir -p "$VD"
	# verdaccio-audit asks for node-fetch@cjs, a dist-tag some registry
	# mirrors lack; 2.7.0 is the version that tag names.
	echo '{"private":true,"overrides":{"node-fetch":"2.7.0"}}' >"$VD/package.json"
	(cd "$VD" && npm install --no-audit --no-fund --loglevel=error "verdaccio@$VERDACCIO_VERSION" >"$RUN/logs/verdaccio-install.log" 2>&1) ||
		die "verdaccio install failed, see $RUN/logs/verdaccio-install.log"
fi
VERDACCIO_JS=$VD/node_modules/verdaccio/bin/verdaccio

# ---------------------------------------------------------------- mirror
UPSTREAM=$(npm config get registry 2>/dev/null)
[ -n "$UPSTREAM" ] || die "npm config get registry is empty"
log "mirroring the project's packuments and tarballs (once; kept in $W/mirror)"
node "$BENCH/lib/mirror.mjs" fetch "$BENCH/npm-project/package-lock.json" "$UPSTREAM" "$W/mirror" >&2
# nginx's tree (packuments with tarball URLs rewritten to nginx, and their
# .gz) depends only on the ports and sizes, so it is kept between runs.
WWW=$W/www3-$PC-$PU-$HUGE_MB
read -r TB1_NAME TB1_VER TB1_SIZE TB2_NAME TB2_VER TB2_SIZE <<<"$(node "$BENCH/lib/mirror.mjs" pick "$W/mirror" | tr '\n' ' ')"

# ---------------------------------------------------------------- counting upstream
"$RUN/benchtool" upstream -listen "127.0.0.1:$PU" -huge-mb "$HUGE_MB" -fanin-versions 24 >"$RUN/logs/upstream.log" 2>&1 &
PIDS+=($!)
wait_http "$COUNTING/-/counts"
if [ ! -f "$WWW/.done" ]; then
	log "laying out and pre-compressing packuments for nginx (once; kept in $WWW)"
	node "$BENCH/lib/mirror.mjs" layout "$W/mirror" "$WWW" "$NGINX"
	mkdir -p "$WWW/pk/full/bench-huge" "$WWW/pk/corgi/bench-huge"
	curl -sf "$COUNTING/bench-huge" -o "$WWW/pk/full/bench-huge/doc.json"
	node "$BENCH/lib/mirror.mjs" abbreviate <"$WWW/pk/full/bench-huge/doc.json" >"$WWW/pk/corgi/bench-huge/doc.json"
	find "$WWW/pk" -name doc.json -print0 | xargs -0 -n 50 -P 2 gzip -k -6
	touch "$WWW/.done"
fi
HUGE_BYTES=$(stat -c %s "$WWW/pk/full/bench-huge/doc.json")

# ---------------------------------------------------------------- nginx (C, and the upstream of A and B)
mkdir -p "$RUN/nginx/tmp"
cat >"$RUN/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $RUN/nginx/nginx.pid;
error_log $RUN/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $RUN/nginx/tmp/body;
  proxy_temp_path $RUN/nginx/tmp/proxy;
  fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
  scgi_temp_path $RUN/nginx/tmp/scgi;
  types { application/json json; application/octet-stream tgz; }
  default_type application/octet-stream;
  map \$http_accept \$pkv { "~application/vnd\\.npm\\.install-v1\\+json" corgi; default full; }
  server {
    listen 127.0.0.1:$PC;
    root $WWW;
    gzip_static on;
    location ~ /-/[^/]+\\.tgz\$ { try_files /tarballs\$uri =404; }
    location / { try_files /pk/\$pkv\$uri/doc.json =404; }
  }
}
EOF
chmod -R a+rX "$WWW" "$W/mirror"
nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" 2>>"$RUN/logs/nginx-error.log" || die "nginx did not start"
wait_http "$NGINX/react"
NGINX_PID=$(cat "$RUN/nginx/nginx.pid")

# ---------------------------------------------------------------- helpers
# mem_split name: logs where A's resident memory is (kB): the kernel's
# anonymous/file split and the anonymous mappings of 128 kB or more (the
# whole smaps goes to tmp/smaps-<name>)
mem_split() {
	cp "/proc/$A_PID/smaps" "$RUN/tmp/smaps-$1" 2>/dev/null || true
	log "  A $1: $(grep -E '^(RssAnon|RssFile)' "/proc/$A_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
	log "  A $1 anon: $(awk '/^[0-9a-f]+-/{m=$1; n=$6} /^Anonymous:/{if($2>=128) printf "%s%s %d", (k++?", ":""), (n==""?m:n), $2}' "/proc/$A_PID/smaps")"
}
rss_kb() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $t; }
pids_of() { # server -> pids to account
	case $1 in
	A) echo "$A_PID" ;;
	B) echo "$B_PID" ;;
	C) echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
	esac
}
# sample_rss server file: background sampler writing the max RSS (kB) to file
sample_rss_start() {
	local pids=$(pids_of "$1") f=$2
	(
		m=0
		while :; do
			r=$(rss_kb $pids)
			((r > m)) && m=$r && echo $m >"$f"
			sleep 0.2
		done
	) &
	SAMPLER=$!
}
sample_rss_stop() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
mb() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

AWSOUT=$RUN/logs/aws.log
# start_ours port datadir: starts the registry, sets up domain acme with
# repositories npm (public:npmjs -> nginx) and fanin (bench -> counting
# upstream); sets A_PID (or A2_PID) and TOKEN.
start_ours() {
	local port=$1 dd=$2 var=$3
	mkdir -p "$dd"
	# with --heap-profile, a heap sample every 64 KiB instead of 512 KiB:
	# an idle heap of a few MB is otherwise a dozen samples
	GODEBUG=${GODEBUG:-}$([ "$HEAP" = 1 ] && [ "$var" = A_PID ] && echo ,memprofilerate=${HEAP_RATE:-65536}) \
		"$REG" serve --data-dir "$dd" --listen "127.0.0.1:$port" --log-level warn \
		--npm-upstream "$NGINX/" --external-connection "bench=npm=$COUNTING/" \
		--prefer-cached acme/npm,acme/fanin ${BENCH_REGISTRY_ARGS:-} \
		$([ "$HEAP" = 1 ] && [ "$var" = A_PID ] && echo --debug-listen "127.0.0.1:$PDBG") >>"$RUN/logs/registry-$port.log" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	printf -v "$var" %s "$pid"
	local i
	for ((i = 0; i < 300; i++)); do [ -f "$dd/root-credentials.json" ] && curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
	(
		creds=$("$REG" credentials --data-dir "$dd" --env) || exit 1
		eval "$creds"
		export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_PAGER=
		{
			aws codeartifact create-domain --domain acme
			aws codeartifact create-repository --domain acme --repository npm
			aws codeartifact associate-external-connection --domain acme --repository npm --external-connection public:npmjs
			aws codeartifact create-repository --domain acme --repository fanin
			aws codeartifact associate-external-connection --domain acme --repository fanin --external-connection bench
			# clients use the token of an IAM user with a read-only policy,
			# as CI does (a root token skips policy evaluation)
			aws iam create-user --user-name ci
			aws iam put-user-policy --user-name ci --policy-name read --policy-document \
				'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codeartifact:GetAuthorizationToken","codeartifact:ReadFromRepository","sts:GetServiceBearerToken"],"Resource":"*"}]}'
		} >>"$AWSOUT" 2>&1
		key=$(aws iam create-access-key --user-name ci --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
		export AWS_ACCESS_KEY_ID=${key%%[[:space:]]*} AWS_SECRET_ACCESS_KEY=${key##*[[:space:]]}
		aws codeartifact get-authorization-token --domain acme --duration-seconds 43200 --query authorizationToken --output text
	) >"$dd/token" || die "repository setup failed on port $port, see $AWSOUT"
	TOKEN=$(cat "$dd/token")
}

# start_verdaccio port storage var
start_verdaccio() {
	local port=$1 st=$2 var=$3
	mkdir -p "$st"
	cat >"$st/config.yaml" <<EOF
storage: $st/storage
web: { enable: false }
auth: { htpasswd: { file: $st/htpasswd, max_users: -1 } }
uplinks:
  up: { url: $NGINX/, maxage: 30d, timeout: 60s }
  bench: { url: $COUNTING/, maxage: 30d, timeout: 120s }
packages:
  'bench-*': { access: \$all, proxy: bench }
  '@*/*': { access: \$all, proxy: up }
  '**': { access: \$all, proxy: up }
server: { keepAliveTimeout: 60 }
log: { type: stdout, format: pretty, level: warn }
max_body_size: 200mb
EOF
	node "$VERDACCIO_JS" --config "$st/config.yaml" --listen "127.0.0.1:$port" >>"$RUN/logs/verdaccio-$port.log" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	printf -v "$var" %s "$pid"
	wait_http "http://127.0.0.1:$port/-/ping"
}


stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# npm_ci name registry-url [token] -> seconds on stdout; fresh copy, empty cache
npm_ci() {
	local name=$1 url=$2 tok=${3:-} d=$RUN/tmp/ci-$1
	rm -rf "$d"
	mkdir -p "$d"
	cp "$BENCH/npm-project/package.json" "$BENCH/npm-project/package-lock.json" "$d/"
	{
		echo "registry=$url"
		[ -n "$tok" ] && echo "//${url#http://}:_authToken=$tok"
		echo "update-notifier=false"
		echo "fund=false"
		echo "audit=false"
	} >"$d/.npmrc"
	local t0=$EPOCHREALTIME
	(cd "$d" && npm ci --prefer-online --ignore-scripts --cache "$d/.cache" --userconfig "$d/.npmrc" --loglevel=error >"$RUN/logs/npm-ci-$name.log" 2>&1) ||
		die "npm ci through $name failed, see $RUN/logs/npm-ci-$name.log"
	local t1=$EPOCHREALTIME
	[ -f "$d/node_modules/react/package.json" ] || die "npm ci through $name installed no react"
	rm -rf "$d"
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b-a}'
}

# ---------------------------------------------------------------- start A and B, warm them
start_ours "$PA" "$RUN/ours" A_PID
A_URL=http://127.0.0.1:$PA/npm/acme/npm/
A_FANIN=http://127.0.0.1:$PA/npm/acme/fanin/
A_TOKEN=$TOKEN
B_PID=
on B && start_verdaccio "$PB" "$RUN/verdaccio" B_PID
B_URL=http://127.0.0.1:$PB/
C_URL=$NGINX/

# heap_profile name: saves A's heap profile (--heap-profile) and its top
HEAPS=()
heap_profile() {
	[ "$HEAP" = 1 ] || return 0
	curl -sf -o "$RUN/tmp/heap-$1.pb.gz" "http://127.0.0.1:$PDBG/debug/pprof/heap?gc=1" || { log "  heap profile $1 failed"; return 0; }
	curl -sf -o "$RUN/tmp/goroutines-$1.txt" "http://127.0.0.1:$PDBG/debug/pprof/goroutine?debug=1" || true
	# the total, then the registry's own frames by cumulative in-use bytes
	(cd "$ROOT" && go tool pprof -top -cum -inuse_space -nodecount 80 "$RUN/registry" "$RUN/tmp/heap-$1.pb.gz" 2>/dev/null |
		awk '/^Showing nodes/ || /flat%/ {print; next} /artifactd\/registry\/internal/ && !/internal\/server\./ && n < 14 {sub(/\[go\.shape.*\]\)/, "[...])"); print; n++}') >"$RUN/tmp/heap-$1.txt" || true
	# where the resident memory is: Go's own accounting next to the kernel's
	{
		echo "kernel: $(grep -E '^(RssAnon|RssFile)' "/proc/$A_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
		curl -sf "http://127.0.0.1:$PDBG/debug/pprof/heap?debug=1" | grep -E '^# (Sys|HeapAlloc|HeapInuse|HeapIdle|HeapReleased|Stack|GCSys|OtherSys|MSpanInuse) ' | tr '\n' ' '
		echo
		# the anonymous mappings holding most (kB): Go's heap arena, C's malloc arenas, thread stacks
		awk '/^[0-9a-f]+-/{m=$1; n=$6} /^Anonymous:/{if($2>=256) printf "%s%s %d kB", (k++?", ":"anon mappings: "), (n==""?m:n), $2} END{print ""}' "/proc/$A_PID/smaps"
	} >>"$RUN/tmp/heap-$1.txt" 2>/dev/null || true
	HEAPS+=("$1")
}
# idle RSS of fresh processes, before any request
settle $(pids_of A) $(pids_of B)
FRESH_A=$(rss_kb $(pids_of A)) FRESH_B=$(rss_kb $(pids_of B)) FRESH_C=$(rss_kb $(pids_of C))
mem_split fresh
heap_profile fresh
log "warming A and B (one npm ci each; C needs none)"
TA_WARM=$(npm_ci A-warmup "$A_URL" "$A_TOKEN")
TB_WARM=
on B && TB_WARM=$(npm_ci B-warmup "$B_URL")
log "warm-up: A ${TA_WARM}s  B ${TB_WARM}s"
# idle: once the servers stop using CPU, and IDLE_WAIT seconds more (a
# server that has been idle for a while, not one between two requests)
IDLE_WAIT=${IDLE_WAIT:-10}
settle $(pids_of A) $(pids_of B)
sleep "$IDLE_WAIT"
IDLE_A=$(rss_kb $(pids_of A)) IDLE_B=$(rss_kb $(pids_of B)) IDLE_C=$(rss_kb $(pids_of C))
mem_split idle
heap_profile idle

# ---------------------------------------------------------------- warm npm ci, interleaved
declare -A T
MA= MB= MC=
part warm && log "warm npm ci: $RUNS rounds of A/B/C (order rotates)"
order=(A B C)
for ((r = 0; r < RUNS; r++)); do
	part warm || break
	for ((k = 0; k < 3; k++)); do
		s=${order[$(((r + k) % 3))]}
		on "$s" || continue
		case $s in
		A) t=$(npm_ci A "$A_URL" "$A_TOKEN") ;;
		B) t=$(npm_ci B "$B_URL") ;;
		C) t=$(npm_ci C "$C_URL") ;;
		esac
		T[$s]="${T[$s]:-} $t"
		log "  round $((r + 1)) $s ${t}s"
	done
done
part warm && MA=$(echo ${T[A]} | tr ' ' '\n' | median) MB=$(echo ${T[B]:-} | tr ' ' '\n' | median) MC=$(echo ${T[C]:-} | tr ' ' '\n' | median)

# ---------------------------------------------------------------- cold npm ci
declare -A TC
CA= CB=
part cold && log "cold npm ci: $COLD_RUNS rounds of A/B with empty proxy state, upstream = nginx"
for ((r = 0; r < COLD_RUNS; r++)); do
	part cold || break
	for s in $([ $((r % 2)) = 0 ] && echo A B || echo B A); do
		on "$s" || continue
		if [ $s = A ]; then
			rm -rf "$RUN/ours-cold"
			start_ours "$PA2" "$RUN/ours-cold" A2_PID
			t=$(npm_ci A-cold "http://127.0.0.1:$PA2/npm/acme/npm/" "$TOKEN")
			stop_pid "$A2_PID"
		else
			rm -rf "$RUN/verdaccio-cold"
			start_verdaccio "$PB2" "$RUN/verdaccio-cold" B2_PID
			t=$(npm_ci B-cold "http://127.0.0.1:$PB2/")
			stop_pid "$B2_PID"
		fi
		TC[$s]="${TC[$s]:-} $t"
		log "  cold round $((r + 1)) $s ${t}s"
	done
done
part cold && CA=$(echo ${TC[A]} | tr ' ' '\n' | median) CB=$(echo ${TC[B]:-} | tr ' ' '\n' | median)

# ---------------------------------------------------------------- wrk
# endpoints: label | path (relative to the registry URL) | accept
tarpath() { # name version -> tarball path as the registry's packument gives it, relative to base
	local base=$1 name=$2 ver=$3 auth=${4:-}
	local esc=${name/\//%2f}
	curl -sf ${auth:+-H "Authorization: Bearer $auth"} -H "Accept: $CORGI" "$base$esc" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s).versions[process.argv[1]].dist.tarball;console.log(u)})' "$ver"
}
EP_LABELS=("react packument, full" "react packument, abbreviated" "@types/node packument, abbreviated" "typescript packument, full" "bench-huge packument (${HUGE_MB} MB), full" "tarball $TB1_NAME@$TB1_VER ($((TB1_SIZE / 1024)) KB)" "tarball $TB2_NAME@$TB2_VER ($((TB2_SIZE / 1024)) KB)")
EP_PATHS=("react" "react" "@types%2fnode" "typescript" "bench-huge" "TB1" "TB2")
EP_ACCEPT=("application/json" "$CORGI" "$CORGI" "application/json" "application/json" "*/*" "*/*")
declare -A WRK_RPS WRK_P50 WRK_P99 WRK_CPU WRK_CE PEAK
wrk_one() { # server url token label-index
	local s=$1 url=$2 tok=$3 i=$4 f=$RUN/logs/wrk-$1-$4.txt
	local pids=$(pids_of "$s")
	curl -sf -o /dev/null ${tok:+-H "Authorization: Bearer $tok"} -H "Accept: ${EP_ACCEPT[$i]}" "$url" || log "  warning: $s $url did not answer 200"
	WRK_CE[$s,$i]=$(curl -s -o /dev/null -D - ${tok:+-H "Authorization: Bearer $tok"} -H "Accept-Encoding: gzip" -H "Accept: ${EP_ACCEPT[$i]}" "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
	sample_rss_start "$s" "$RUN/tmp/peak-$s-$i"
	local perfpid=
	if [ $PROFILE = 1 ] && [ $s = A ] && command -v perf >/dev/null; then
		# started after the warm-up requests above: only the steady state
		perf record -F 499 -g -o "$RUN/tmp/perf-$i.data" -p "$A_PID" -- sleep "$WRK_SECONDS" >/dev/null 2>&1 &
		perfpid=$!
	fi
	# CPU: perf's task-clock when perf can attach (it counts the kernel's
	# work in the server's context, sendfile's included, alike for every
	# server; /proc's tick counts leave out soft-interrupt time), else /proc
	# (perf stat counts the servers' processes while wrk runs)
	local pstat=$RUN/tmp/pstat-$s-$i pstat_cmd=()
	rm -f "$pstat"
	command -v perf >/dev/null && pstat_cmd=(perf stat -x, -e task-clock -o "$pstat" -p "$(echo $pids | tr ' ' ',')" --)
	local c0=$(cpu_ticks $pids)
	"${pstat_cmd[@]}" wrk -t2 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency --timeout 30s -H "Accept-Encoding: gzip" -H "Accept: ${EP_ACCEPT[$i]}" \
		${tok:+-H "Authorization: Bearer $tok"} "$url" >"$f" 2>&1 || true
	local c1=$(cpu_ticks $pids)
	sample_rss_stop
	[ -n "$perfpid" ] && { wait "$perfpid" || true; }
	settle $pids
	local p=$(cat "$RUN/tmp/peak-$s-$i" 2>/dev/null || echo 0)
	((p > ${PEAK[$s]:-0})) && PEAK[$s]=$p
	local n=$(awk '/requests in/{print $1}' "$f")
	WRK_RPS[$s,$i]=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$f")
	WRK_P50[$s,$i]=$(awk '$1=="50%"{print $2}' "$f")
	WRK_P99[$s,$i]=$(awk '$1=="99%"{print $2}' "$f")
	local ms=$(awk -F, '$3=="task-clock" || $3 ~ /^task-clock/ {print $1; exit}' "$pstat" 2>/dev/null)
	if [[ "$ms" =~ ^[0-9.]+$ ]]; then
		CPU_HOW="perf stat task-clock"
		WRK_CPU[$s,$i]=$(awk -v ms="$ms" -v n="${n:-0}" -v d="$WRK_SECONDS" 'BEGIN{if(n>0) printf "%.2f", ms/1000/n*1000; else printf "n/a (0 done in %ss, %.1f CPU s)", d, ms/1000}')
	elif [ ${#pstat_cmd[@]} -gt 0 ]; then
		WRK_CPU[$s,$i]="n/a (perf counted nothing)"
	else
	WRK_CPU[$s,$i]=$(awk -v c=$((c1 - c0)) -v n="${n:-0}" -v t="$TCK" -v d="$WRK_SECONDS" 'BEGIN{if(n>0) printf "%.2f", c/t/n*1000; else printf "n/a (0 done in %ss, %.1f CPU s)", d, c/t}')
	fi
	log "  $s ${EP_LABELS[$i]}: ${WRK_RPS[$s,$i]} req/s, p50 ${WRK_P50[$s,$i]}, p99 ${WRK_P99[$s,$i]}, ${WRK_CPU[$s,$i]} CPU s/1000 req, CE=${WRK_CE[$s,$i]:-none}"
}
PERF_DONE=0
part wrk && log "wrk: ${WRK_SECONDS}s per endpoint and server, $WRK_CONNS connections"
for i in "${!EP_PATHS[@]}"; do
	part wrk || break
	for s in A B C; do
		on "$s" || continue
		case $s in A) base=$A_URL tok=$A_TOKEN ;; B) base=$B_URL tok= ;; C) base=$C_URL tok= ;; esac
		[ "${EP_PATHS[$i]}" = bench-huge ] && [ $s = A ] && base=$A_FANIN
		case ${EP_PATHS[$i]} in
		TB1) url=$(tarpath "$base" "$TB1_NAME" "$TB1_VER" "$tok") ;;
		TB2) url=$(tarpath "$base" "$TB2_NAME" "$TB2_VER" "$tok") ;;
		*) url=$base${EP_PATHS[$i]} ;;
		esac
		wrk_one "$s" "$url" "$tok" "$i"
		if [ -f "$RUN/tmp/perf-$i.data" ] && [ $s = A ]; then
			{
				perf report -i "$RUN/tmp/perf-$i.data" --no-children --stdio --percent-limit 2 2>/dev/null | grep -E '^ +[0-9]' | head -12
				echo "-- share of samples whose stack includes:"
				perf script -i "$RUN/tmp/perf-$i.data" 2>/dev/null | awk '
					/^registry /{st=""; next}
					/^$/{t++; if(st~/sqlite3|database\/sql/)q++; if(st~/compress\/flate/)z++; if(st~/encoding\/json/)j++; if(st~/splice|sendfile/)f++; else if(st~/syscall\.write/)w++; if(st~/policy\.Parse/)p++; if(st~/gcBgMarkWorker|gcDrain/)g++; next}
					{st=st "|" $0}
					END{if(t) printf "   SQLite %.0f%%, gzip %.0f%%, encoding/json %.0f%%, policy.Parse %.0f%%, write(2) %.0f%%, sendfile/splice %.0f%%, GC %.0f%% (%d samples)\n", 100*q/t, 100*z/t, 100*j/t, 100*p/t, 100*w/t, 100*f/t, 100*g/t, t}'
				echo "-- SQLite queries by registry caller (samples):"
				perf script -i "$RUN/tmp/perf-$i.data" 2>/dev/null | awk '
					/^registry /{st=""; next}
					/^$/{if(st~/sqlite3/){n=split(st,a,"|"); for(k=1;k<=n;k++) if(a[k]~/artifactd\/registry\/internal\//){sub(/^[ \t]*[0-9a-f]+ /,"",a[k]); sub(/\+0x.*/,"",a[k]); print a[k]; break}} next}
					{st=st "|" $0}' | sort | uniq -c | sort -rn | head -8
			} >"$RUN/tmp/perf-$i.txt" 2>/dev/null || true
		fi
	done
done

part wrk && heap_profile after-wrk

# ---------------------------------------------------------------- fan-in
part fanin && log "fan-in: $FANIN_CLIENTS clients x $FANIN_ROUNDS rounds on an uncached tarball"
FANIN_ROWS=()
for ((r = 0; r < FANIN_ROUNDS; r++)); do
	part fanin || break
	for s in A B; do
		on "$s" || continue
		if [ $s = A ]; then v=1.0.$r base=$A_FANIN tok=$A_TOKEN; else v=1.0.$((20 + r)) base=$B_URL tok=; fi
		p=/bench-fanin/-/bench-fanin-$v.tgz
		j=$("$RUN/benchtool" fetch -n "$FANIN_CLIENTS" -url "${base%/}$p" ${tok:+-H "Authorization: Bearer $tok"})
		ups=$(curl -s "$COUNTING/-/counts" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s);console.log(c[process.argv[1]]||0, c["/bench-fanin"]||0)})' "$p")
		pk=$((${ups#* } - ${PK_BEFORE:-0}))
		PK_BEFORE=${ups#* }
		FANIN_ROWS+=("| $s | $v | $(node -e 'const j=JSON.parse(process.argv[1]);console.log([JSON.stringify(j.statuses).replace(/[{}"]/g,""), j.ttlb_p50_ms, j.ttlb_max_ms].join(" | "))' "$j") | ${ups% *} | $pk |")
		log "  $s $v: $j upstream tarball requests=${ups% *}, packument requests=$pk"
	done
done

# ---------------------------------------------------------------- memory: huge packument to many clients
declare -A HUGE_RSS HUGE_T
part memory && log "memory: $HUGE_CLIENTS clients fetching the ${HUGE_MB} MB packument"
for s in A B C; do
	part memory || break
	on "$s" || continue
	case $s in A) url=${A_FANIN}bench-huge tok=$A_TOKEN ;; B) url=${B_URL}bench-huge tok= ;; C) url=${C_URL}bench-huge tok= ;; esac
	sample_rss_start "$s" "$RUN/tmp/huge-$s"
	# bounded: Verdaccio needs seconds of CPU per client here
	# the abbreviated form, which no part before has asked for: A renders it
	# (from its cached upstream document) while the clients wait
	j=$("$RUN/benchtool" fetch -n "$HUGE_CLIENTS" -url "$url" -H "Accept: $CORGI" -H "Accept-Encoding: gzip" ${tok:+-H "Authorization: Bearer $tok"} -timeout "${HUGE_TIMEOUT:-120s}")
	sample_rss_stop
	settle $(pids_of "$s")
	HUGE_RSS[$s]=$(mb "$(cat "$RUN/tmp/huge-$s" 2>/dev/null || echo 0)")
	HUGE_T[$s]=$(node -e 'const j=JSON.parse(process.argv[1]);console.log(`${j.ttlb_max_ms} ms (${JSON.stringify(j.statuses).replace(/[{}"]/g,"")})`)' "$j")
	log "  $s: $j"
done
part memory && heap_profile after-huge
settle $(pids_of A) $(pids_of B)
sleep "$IDLE_WAIT"
END_A=$(rss_kb $(pids_of A)) END_B=$(rss_kb $(pids_of B))

# ---------------------------------------------------------------- PyPI and Maven (bench/formats.sh)
# its own nginx and registry, on its own ports and scratch directory
FORMATS_MD=$RUN/tmp/formats.md
if part formats; then
	log "PyPI and Maven: bench/formats.sh"
	BENCH_DIR=$W-formats BENCH_PORT=$((PORT0 + 100)) BENCH_REGISTRY_BIN=$REG \
		"$BENCH/formats.sh" $([ $QUICK = 1 ] && echo --quick) --out "$FORMATS_MD" >"$RUN/logs/formats.log" 2>&1 ||
		log "  bench/formats.sh failed, see $RUN/logs/formats.log"
fi

# ---------------------------------------------------------------- Go benchmarks
GOOUT=$RUN/tmp/gobench.txt
: >"$GOOUT"
if [ $GOBENCH = 1 ]; then
	log "go test -bench (benchtime $GOBENCHTIME)"
	pkgs=(./internal/formats/npm ./internal/formats/pypi ./internal/formats/maven ./internal/blob/fs ./internal/server ./internal/policy ./internal/upstream ./internal/codeartifact)
	(cd "$ROOT" && go test -run '^$' -bench . -benchmem -benchtime "$GOBENCHTIME" "${pkgs[@]}" 2>&1 | grep -E '^(Benchmark|ok|FAIL|---|pkg:)' >"$GOOUT") || log "  some Go benchmarks failed (see results)"
	log "event-to-pipeline-start (200 publishes)"
	(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkEventToStart$' -benchtime 200x ./internal/pipeline/engine 2>&1 | grep -E '^Benchmark' >"$RUN/tmp/event.txt") || true
	log "publish -> pipeline STARTED end to end, and publishes/s with events on (200 publishes each)"
	(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkPublishToExecutionStart$|BenchmarkPublishesWithEvents$' -benchtime 200x ./cmd/registry 2>&1 |
		grep -E '^Benchmark(PublishToExecutionStart|PublishesWithEvents)' >"$RUN/tmp/event-e2e.txt") || true
fi

# ---------------------------------------------------------------- results
HOST=$(hostname -s)
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
ver() { "$@" 2>&1 | head -1; }
out "# Benchmark results: $DATE on $HOST"
out ""
out "Mode: $([ $QUICK = 1 ] && echo quick || echo full)${ONLY:+, only $ONLY}$([ "$SERVERS" != A,B,C ] && echo ", servers $SERVERS")${BENCH_REGISTRY_ARGS:+, registry flags \`$BENCH_REGISTRY_ARGS\`}. Absolute numbers are not claims (shared machines are noisy); the ratios from this one interleaved run are."
out ""
out "## Machine and versions"
out ""
out "| | |"
out "|---|---|"
out "| CPUs | $(nproc) ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)) |"
out "| memory | $(awk '/MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) |"
out "| kernel | $(uname -sr) |"
out "| load average at start of results | $(cut -d' ' -f1-3 /proc/loadavg) |"
out "| registry | $COMMIT, $(go version | cut -d' ' -f3) |"
out "| node / npm | $(node --version) / $(npm --version 2>/dev/null) |"
out "| verdaccio | $VERDACCIO_VERSION |"
out "| nginx | $(nginx -v 2>&1 | sed 's/.*: //') |"
out "| wrk | $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2) |"
out "| project | bench/npm-project: $(node -e 'console.log(Object.keys(require(process.argv[1]).packages).length-1)' "$BENCH/npm-project/package-lock.json") packages |"
out ""
out "A = this registry (repository with public:npmjs, prefer-cached; clients use the token of an IAM user with a read-only policy), B = Verdaccio (uplink maxage 30d), C = nginx (gzip_static, sendfile). The upstream of A and B is C itself, so cold runs do not depend on the internet."
out ""
out "## npm ci"
out ""
out "Warm: empty npm cache, \`--prefer-online\`, proxies already hold every package; $RUNS interleaved rounds. Cold: fresh proxy state, $COLD_RUNS rounds."
out ""
out "| | A ours | B Verdaccio | C nginx | ours/Verdaccio | ours/nginx |"
out "|---|---|---|---|---|---|"
out "| warm, median s | $MA | $MB | $MC | $(ratio "$MA" "$MB") | $(ratio "$MA" "$MC") |"
out "| cold, median s | $CA | $CB | | $(ratio "$CA" "$CB") | |"
out ""
out "Runs (s): A ${T[A]:-}; B ${T[B]:-}; C ${T[C]:-}; cold A ${TC[A]:-}; cold B ${TC[B]:-}. Warm-up (first fill from C): A ${TA_WARM}, B ${TB_WARM}."
out ""
out "## Hot paths under wrk"
out ""
out "wrk -t2 -c$WRK_CONNS -d${WRK_SECONDS}s --latency, \`Accept-Encoding: gzip\`. CPU = server CPU seconds per 1,000 requests (nginx: master and workers), measured with ${CPU_HOW:-/proc utime+stime}. CE = Content-Encoding of the response."
out ""
out "| endpoint | server | req/s | p50 | p99 | CPU s/1000 req | CE | CPU vs nginx |"
out "|---|---|---|---|---|---|---|---|"
for i in "${!EP_PATHS[@]}"; do
	for s in A B C; do
		out "| ${EP_LABELS[$i]} | $s | ${WRK_RPS[$s,$i]:-} | ${WRK_P50[$s,$i]:-} | ${WRK_P99[$s,$i]:-} | ${WRK_CPU[$s,$i]:-} | ${WRK_CE[$s,$i]:-none} | $([ $s = C ] || ratio "${WRK_CPU[$s,$i]:-}" "${WRK_CPU[C,$i]:-}") |"
	done
done
out ""
out "## Fan-in"
out ""
out "$FANIN_CLIENTS clients at once, each on its own connection, ask for one uncached tarball (4 MB of incompressible data; the counting upstream waits 300 ms before answering). Upstream requests for that tarball must be 1."
out ""
out "| server | version | statuses | time to last byte p50 ms | max ms | upstream tarball requests | upstream packument requests |"
out "|---|---|---|---|---|---|---|"
for row in "${FANIN_ROWS[@]}"; do out "$row"; done
out ""
out "## Memory (RSS, MB)"
out ""
out "| | A ours | B Verdaccio | C nginx |"
out "|---|---|---|---|"
out "| idle, fresh process | $(mb "$FRESH_A") | $(mb "$FRESH_B") | $(mb "$FRESH_C") |"
out "| idle after warm-up (${IDLE_WAIT} s without requests) | $(mb "$IDLE_A") | $(mb "$IDLE_B") | $(mb "$IDLE_C") |"
out "| peak under wrk | $(mb "${PEAK[A]:-0}") | $(mb "${PEAK[B]:-0}") | $(mb "${PEAK[C]:-0}") |"
out "| peak, $HUGE_CLIENTS clients at once x bench-huge abbreviated, not rendered before (from a $((HUGE_BYTES / 1048576)) MB packument) | ${HUGE_RSS[A]:-} | ${HUGE_RSS[B]:-} | ${HUGE_RSS[C]:-} |"
out "| at the end (${IDLE_WAIT} s without requests) | $(mb "$END_A") | $(mb "$END_B") | |"
out ""
out "Time for all $HUGE_CLIENTS clients to get bench-huge: A ${HUGE_T[A]:-}; B ${HUGE_T[B]:-}; C ${HUGE_T[C]:-}."
if [ ${#HEAPS[@]} -gt 0 ]; then
	out ""
	out "Go heap of A after a forced GC (\`go tool pprof -top -cum -inuse_space\`, the registry's own frames):"
	for h in "${HEAPS[@]}"; do
		out ""
		out "$h:"
		out ""
		out '```'
		{ sed -n '1,16p' "$RUN/tmp/heap-$h.txt"; tail -2 "$RUN/tmp/heap-$h.txt"; } >>"$RESULTS"
		out '```'
	done
fi
out ""
out "## Events"
out ""
if [ -s "$RUN/tmp/event.txt" ]; then
	out "internal/pipeline/engine BenchmarkEventToStart, 200 publishes (the engine's latency from a package event to the pipeline's source action running; NATS delivery not included):"
	out ""
	out '```'
	cat "$RUN/tmp/event.txt" >>"$RESULTS"
	out '```'
else
	out "Not measured (--no-go-bench, or the benchmark is missing)."
fi
out ""
if [ -s "$RUN/tmp/event-e2e.txt" ]; then
	out "End to end through a running server (cmd/registry): an npm publish over HTTP, the package event relayed to JetStream from the transactional outbox, the pipeline whose source watches the package started, its STARTED event received by a NATS client over TCP. Latency is from the moment the publish request is sent."
	out ""
	out "- BenchmarkPublishToExecutionStart: 200 publishes one after another, each waiting for its STARTED event (p50-ms, p99-ms, max-ms; publish-p50-ms is the publish's own round trip, relay-p99-ms ack -> event on NATS, engine-p99-ms event -> STARTED)."
	out "- BenchmarkPublishesWithEvents: 200 publishes from 8 concurrent publishers: publishes/s with events on, started/s, and the latency under that load (load-*)."
	out ""
	out '```'
	cat "$RUN/tmp/event-e2e.txt" >>"$RESULTS"
	out '```'
	out ""
fi
out "## Go benchmarks (hot functions)"
out ""
if [ -s "$GOOUT" ]; then
	out "go test -bench . -benchmem -benchtime $GOBENCHTIME:"
	out ""
	out '```'
	cat "$GOOUT" >>"$RESULTS"
	out '```'
else
	out "Skipped."
fi
if [ $PROFILE = 1 ]; then
	out ""
	out "## Profile of A under wrk (perf, self time, top symbols)"
	for i in "${!EP_PATHS[@]}"; do
		[ -s "$RUN/tmp/perf-$i.txt" ] || continue
		out ""
		out "${EP_LABELS[$i]}:"
		out ""
		out '```'
		cat "$RUN/tmp/perf-$i.txt" >>"$RESULTS"
		out '```'
	done
fi
out ""
if [ -s "$FORMATS_MD" ]; then
	cat "$FORMATS_MD" >>"$RESULTS"
	out ""
elif part formats; then
	out "## PyPI and Maven"
	out ""
	out "bench/formats.sh failed; see its log."
	out ""
fi
out "Reproduce: \`${BENCH_REGISTRY_ARGS:+BENCH_REGISTRY_ARGS='$BENCH_REGISTRY_ARGS' }bench/run.sh${ARGS:+ $ARGS}\` (see bench/README.md)."

mkdir -p "$BENCH/results"
F=$BENCH/results/$(date -u +%Y-%m-%d)-$HOST.md
if [ -n "$ONLY" ]; then
	F=$BENCH/results/$(date -u +%Y-%m-%d)-$HOST-${ONLY//,/-}.md
	cp "$RESULTS" "$F"
	log "results: $F (a partial run: LATEST.md unchanged)"
else
	cp "$RESULTS" "$F"
	cp "$RESULTS" "$BENCH/results/LATEST.md"
	log "results: $F (and bench/results/LATEST.md)"
fi
