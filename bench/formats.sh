#!/usr/bin/env bash
# bench/formats.sh [--quick] [--out FILE]
#
# The PyPI and Maven part of the benchmark (see bench/README.md): warm
# `pip download` of a wheel set and warm `mvn dependency:go-offline` of a
# project, through this registry (A) and through nginx serving the same
# files from disk (C), interleaved, with medians and the ratio ours/nginx.
# Writes a Markdown fragment (a "## PyPI and Maven" section) to FILE, or to
# stdout without --out. Needs no internet: the wheels are generated
# (bench/formats/make_wheels.py) and Maven's files are Debian's
# /usr/share/maven-repo.
#
# Environment: BENCH_DIR (scratch, default /tmp/registry-bench-formats),
# BENCH_PORT (first of five ports, default 17480), RUNS (rounds, default 5;
# 2 with --quick), BENCH_REGISTRY_BIN (a prebuilt registry binary instead
# of `go build ./cmd/registry`), BENCH_REGISTRY_ARGS (extra flags for A).
set -euo pipefail

QUICK=0 OUT=
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ -z "$OUT" ] || OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FX=$ROOT/bench/formats
W=${BENCH_DIR:-/tmp/registry-bench-formats}
PORT0=${BENCH_PORT:-17480}
if [ $QUICK = 1 ]; then : "${RUNS:=2}"; else : "${RUNS:=5}"; fi
PA=$((PORT0 + 1)) PC=$((PORT0 + 3)) PU=$((PORT0 + 4))
NGINX=http://127.0.0.1:$PC
UPSTREAM=http://127.0.0.1:$PU
MAVEN_REPO=/usr/share/maven-repo
TCK=$(getconf CLK_TCK)

# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
for t in go nginx aws curl python3 mvn sha256sum; do command -v $t >/dev/null || die "$t not found (see bench/README.md)"; done
[ -d "$MAVEN_REPO/org/apache/maven/plugins" ] || die "$MAVEN_REPO has no Maven plugins: apt-get install maven and the plugin packages bench/README.md names"

# The clients run with nothing of this machine's configuration: the real
# interpreter (not a version manager's shim, which needs HOME), no PIP_*
# settings (find-links would add a second source), HOME in the scratch dir.
PY=$(python3 -c 'import sys; print(sys.executable)')
for v in $(compgen -e | grep '^PIP_' || true); do unset "$v"; done
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
unset MAVEN_OPTS MAVEN_ARGS 2>/dev/null || true

mkdir -p "$W"
exec 9>"$W/.lock"
flock -n 9 || die "another bench/formats.sh is using $W"
RUN=$W/run
[ -f "$RUN/nginx/nginx.pid" ] && kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null && sleep 1
rm -rf "$RUN"
mkdir -p "$RUN"/{logs,tmp,home}
FRAG=$RUN/fragment.md
: >"$FRAG"
out() { printf '%s\n' "$*" >>"$FRAG"; }

secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f\n", b-a}'; }

# ---------------------------------------------------------------- build
log "building the registry"
if [ -n "${BENCH_REGISTRY_BIN:-}" ]; then
	cp "$BENCH_REGISTRY_BIN" "$RUN/registry"
else
	(cd "$ROOT" && go build -o "$RUN/registry" ./cmd/registry)
fi
REG=$RUN/registry
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || COMMIT="$COMMIT (+ uncommitted changes)"
export HOME=$RUN/home # after go build, which keeps its caches under HOME

# ---------------------------------------------------------------- fixtures
# The wheel tree is kept between runs, keyed by the generator's hash.
GENSUM=$(sha256sum "$FX/make_wheels.py" | cut -c1-12)
TREE=$W/pypi-$GENSUM
if [ ! -f "$TREE/.done" ]; then
	log "generating the wheel set into $TREE (once)"
	rm -rf "$TREE"
	"$PY" "$FX/make_wheels.py" "$TREE" >&2
	touch "$TREE/.done"
fi
chmod -R a+rX "$TREE"
N_WHEELS=$(wc -l <"$TREE/expected.sha256")
WHEEL_MB=$(cd "$TREE/packages" && awk '{print $2}' "$TREE/expected.sha256" | xargs stat -c %s | awk '{s+=$1} END{printf "%.1f", s/1048576}')

# Debian's Maven tree, with the .sha1 and .md5 files it lacks (kept between
# runs, keyed by the script and the tree's listing).
MSUM=$({ cat "$FX/maven_tree.py"; find -L "$MAVEN_REPO" -type f -printf '%p %s %T@\n' | sort; } | sha256sum | cut -c1-12)
MTREE=$W/maven-$MSUM
if [ ! -f "$MTREE/.done" ]; then
	log "laying out $MAVEN_REPO with checksum files into $MTREE (once)"
	rm -rf "$MTREE"
	"$PY" "$FX/maven_tree.py" "$MAVEN_REPO" "$MTREE" >&2
	touch "$MTREE/.done"
fi
chmod -R a+rX "$MTREE"

# go-offline needs maven-dependency-plugin, and resolves the clean and site
# plugins too; the project pins the versions Debian ships. Without them,
# the nearest thing that resolves from Debian's tree is `mvn compile`.
MVN_GOAL=dependency:go-offline
MVN_NOTE=
for p in maven-dependency-plugin/3.5.0 maven-clean-plugin/3.2.0 maven-site-plugin/3.12.1; do
	if [ ! -d "$MAVEN_REPO/org/apache/maven/plugins/$p" ]; then
		MVN_GOAL=compile
		MVN_NOTE="$MAVEN_REPO lacks ${p%/*} ${p#*/} (Debian's lib${p%%-plugin/*}-plugin-java), so this measures \`mvn compile\` of the project (its compile dependencies and the resources and compiler plugins) instead of \`dependency:go-offline\`."
		break
	fi
done

# ---------------------------------------------------------------- nginx: C, and A's upstream
# Two servers over the same files: C (measured, no access log) and the
# upstream of A (port PU), whose access log counts what A asks for.
mkdir -p "$RUN/nginx/tmp"
nginx_server() { # port access_log
	cat <<EOF
  server {
    listen 127.0.0.1:$1;
    access_log $2;
    root $TREE;
    location /simple/ { try_files \$uri\$pyidx =404; }
    location /packages/ { }
    location /maven2/ { alias $MTREE/; }
  }
EOF
}
cat >"$RUN/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $RUN/nginx/nginx.pid;
error_log $RUN/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $RUN/nginx/tmp/body;
  proxy_temp_path $RUN/nginx/tmp/proxy;
  fastcgi_temp_path $RUN/nginx/tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx/tmp/uwsgi;
  scgi_temp_path $RUN/nginx/tmp/scgi;
  types { text/html html; application/vnd.pypi.simple.v1+json json; text/xml pom xml; application/octet-stream whl jar; }
  default_type application/octet-stream;
  # PEP 691: JSON for clients that ask for it (pip does), else HTML
  map \$http_accept \$pyidx { "~application/vnd\\.pypi\\.simple\\.v1\\+json" index.json; default index.html; }
$(nginx_server "$PC" off)
$(nginx_server "$PU" "$RUN/logs/upstream-access.log")
}
EOF
nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" 2>>"$RUN/logs/nginx-error.log" || die "nginx did not start, see $RUN/logs/nginx-error.log"
wait_http "$NGINX/simple/"
wait_http "$UPSTREAM/simple/"
curl -sf -o /dev/null "$NGINX/maven2/org/apache/maven/plugins/maven-compiler-plugin/3.10.1/maven-compiler-plugin-3.10.1.pom" ||
	die "nginx cannot read $MAVEN_REPO (see $RUN/logs/nginx-error.log)"
upstream_requests() { [ -f "$RUN/logs/upstream-access.log" ] && wc -l <"$RUN/logs/upstream-access.log" || echo 0; }

# ---------------------------------------------------------------- A
# Domain acme: repository pypi (public:pypi, upstream nginx), repository
# maven (public:maven-central, upstream nginx over Debian's tree), both
# --prefer-cached like bench/run.sh's npm repository; clients use the token
# of an IAM user with a read-only policy.
DD=$RUN/ours
AWSOUT=$RUN/logs/aws.log
mkdir -p "$DD"
"$REG" serve --data-dir "$DD" --listen "127.0.0.1:$PA" --log-level warn \
	--npm-upstream "$UPSTREAM/npm-unused/" --pypi-upstream "$UPSTREAM/simple/" --maven-upstream "$UPSTREAM/maven2/" \
	--prefer-cached acme/pypi,acme/maven ${BENCH_REGISTRY_ARGS:-} >>"$RUN/logs/registry.log" 2>&1 &
A_PID=$!
PIDS+=($A_PID)
for ((i = 0; i < 300; i++)); do [ -f "$DD/root-credentials.json" ] && curl -s -o /dev/null "http://127.0.0.1:$PA/" && break; sleep 0.1; done
log "setting up domain acme (repositories pypi and maven) and a read-only user"
(
	creds=$("$REG" credentials --data-dir "$DD" --env) || exit 1
	eval "$creds"
	export AWS_ENDPOINT_URL=http://127.0.0.1:$PA AWS_PAGER=
	{
		aws codeartifact create-domain --domain acme
		aws codeartifact create-repository --domain acme --repository pypi
		aws codeartifact associate-external-connection --domain acme --repository pypi --external-connection public:pypi
		aws codeartifact create-repository --domain acme --repository maven
		aws codeartifact associate-external-connection --domain acme --repository maven --external-connection public:maven-central
		aws iam create-user --user-name ci
		aws iam put-user-policy --user-name ci --policy-name read --policy-document \
			'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["codeartifact:GetAuthorizationToken","codeartifact:ReadFromRepository","sts:GetServiceBearerToken"],"Resource":"*"}]}'
	} >>"$AWSOUT" 2>&1
	pypi=$(aws codeartifact get-repository-endpoint --domain acme --repository pypi --format pypi --query repositoryEndpoint --output text)
	maven=$(aws codeartifact get-repository-endpoint --domain acme --repository maven --format maven --query repositoryEndpoint --output text)
	key=$(aws iam create-access-key --user-name ci --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
	export AWS_ACCESS_KEY_ID=${key%%[[:space:]]*} AWS_SECRET_ACCESS_KEY=${key##*[[:space:]]}
	aws codeartifact get-authorization-token --domain acme --duration-seconds 43200 --query authorizationToken --output text
	echo "$pypi"
	echo "$maven"
) >"$DD/setup" 2>>"$AWSOUT" || die "repository setup failed, see $AWSOUT"
{ read -r TOKEN; read -r A_PYPI; read -r A_MAVEN; } <"$DD/setup"
[ -n "$TOKEN" ] && [ -n "$A_MAVEN" ] || die "no token or endpoint, see $AWSOUT"
A_PYPI_INDEX="http://aws:$TOKEN@${A_PYPI#http://}"
A_PYPI_INDEX="${A_PYPI_INDEX%/}/simple/"

# ---------------------------------------------------------------- clients
cp "$TREE/requirements.txt" "$TREE/expected.sha256" "$RUN/tmp/"
# pip_dl name pip-args... -> seconds; a fresh directory, no cache
pip_dl() {
	local name=$1 d=$RUN/tmp/pip-$1
	shift
	rm -rf "$d"
	local t0=$EPOCHREALTIME
	"$PY" -m pip download --no-deps --no-cache-dir --only-binary :all: -d "$d" "$@" \
		-r "$RUN/tmp/requirements.txt" >"$RUN/logs/pip-$name.log" 2>&1 || die "pip download through $name failed, see $RUN/logs/pip-$name.log"
	local t1=$EPOCHREALTIME
	[ "$(find "$d" -type f | wc -l)" = "$N_WHEELS" ] || die "pip download through $name: $(find "$d" -type f | wc -l) files, want $N_WHEELS"
	(cd "$d" && sha256sum --quiet -c "$RUN/tmp/expected.sha256") >>"$RUN/logs/pip-$name.log" 2>&1 || die "pip download through $name: wrong bytes, see $RUN/logs/pip-$name.log"
	rm -rf "$d"
	secs "$t0" "$t1"
}
# The settings of each server: a mirror of everything; A's with the
# token as CodeArtifact's documentation writes it.
cat >"$RUN/tmp/settings-A.xml" <<EOF
<settings>
  <servers><server><id>registry</id><username>aws</username><password>\${env.CODEARTIFACT_AUTH_TOKEN}</password></server></servers>
  <mirrors><mirror><id>registry</id><mirrorOf>*</mirrorOf><url>$A_MAVEN</url></mirror></mirrors>
</settings>
EOF
cat >"$RUN/tmp/settings-C.xml" <<EOF
<settings>
  <mirrors><mirror><id>registry</id><mirrorOf>*</mirrorOf><url>$NGINX/maven2/</url></mirror></mirrors>
</settings>
EOF
# mvn_run name server -> seconds; a copy of the project, an empty local
# repository (F: the client alone, offline, on the full local repository
# the priming run through C left)
mvn_run() {
	local name=$1 s=$2 d=$RUN/tmp/mvn-$1
	rm -rf "$d"
	mkdir -p "$d"
	cp "$FX/maven-project/pom.xml" "$d/"
	local t0 t1
	if [ "$s" = F ]; then
		t0=$EPOCHREALTIME
		(cd "$d" && mvn -B -o -s "$RUN/tmp/settings-C.xml" -Dmaven.repo.local="$RUN/tmp/mvn-full-repo" $MVN_GOAL \
			>"$RUN/logs/mvn-$name.log" 2>&1) || die "mvn $name (offline) failed, see $RUN/logs/mvn-$name.log"
		t1=$EPOCHREALTIME
		rm -rf "$d"
		secs "$t0" "$t1"
		return
	fi
	t0=$EPOCHREALTIME
	(cd "$d" && CODEARTIFACT_AUTH_TOKEN=$TOKEN mvn -B -s "$RUN/tmp/settings-$s.xml" -Dmaven.repo.local="$d/repo" $MVN_GOAL \
		>"$RUN/logs/mvn-$name.log" 2>&1) || die "mvn through $name failed, see $RUN/logs/mvn-$name.log"
	t1=$EPOCHREALTIME
	# the same files every run (the first run's count and size are kept)
	local n first=$RUN/tmp/mvn-files
	n=$(find "$d/repo" -type f \( -name '*.jar' -o -name '*.pom' \) | wc -l)
	[ -f "$d/repo/com/google/guava/guava/31.1-jre/guava-31.1-jre.jar" ] || die "mvn through $name resolved no guava jar"
	[ -s "$first" ] || echo "$n $(du -sm "$d/repo" | cut -f1)" >"$first"
	[ "$n" = "$(cut -d' ' -f1 "$first")" ] || die "mvn through $name resolved $n jars and POMs, the first run $(cut -d' ' -f1 "$first")"
	if [ "$name" = C-prime ]; then mv "$d/repo" "$RUN/tmp/mvn-full-repo"; fi
	rm -rf "$d"
	secs "$t0" "$t1"
}
PIP_A=(--index-url "$A_PYPI_INDEX")
PIP_C=(--index-url "$NGINX/simple/")
PIP_F=(--no-index --find-links "$TREE/packages")

# ---------------------------------------------------------------- warm-up
log "priming A (one pip download and one mvn through it; C once each too, for the page cache and the JVM)"
UP0=$(upstream_requests)
TP_PRIME=$(pip_dl A-prime "${PIP_A[@]}")
TM_PRIME=$(mvn_run A-prime A)
UP_PRIME=$(($(upstream_requests) - UP0))
pip_dl C-prime "${PIP_C[@]}" >/dev/null
mvn_run C-prime C >/dev/null
log "priming: pip ${TP_PRIME}s, mvn ${TM_PRIME}s, $UP_PRIME upstream requests"
settle "$A_PID"

# ---------------------------------------------------------------- measured, interleaved
declare -A T
UP1=$(upstream_requests)
CPU0=$(cpu_ticks "$A_PID")
log "warm pip download and mvn $MVN_GOAL: $RUNS rounds of A/C/F (F: the client alone; the order rotates)"
servers=(A C F)
for ((r = 0; r < RUNS; r++)); do
	order=("${servers[@]:r%3}" "${servers[@]:0:r%3}")
	for s in "${order[@]}"; do
		case $s in
		A) t=$(pip_dl A "${PIP_A[@]}") ;;
		C) t=$(pip_dl C "${PIP_C[@]}") ;;
		F) t=$(pip_dl F "${PIP_F[@]}") ;;
		esac
		T[pip-$s]="${T[pip-$s]:-} $t"
		settle "$A_PID"
	done
	for s in "${order[@]}"; do
		t=$(mvn_run "$s" "$s")
		T[mvn-$s]="${T[mvn-$s]:-} $t"
		settle "$A_PID"
	done
	log "  round $((r + 1)): pip A${T[pip-A]##* } C${T[pip-C]##* } F${T[pip-F]##* }  mvn A${T[mvn-A]##* } C${T[mvn-C]##* } F${T[mvn-F]##* }"
done
UP_WARM=$(($(upstream_requests) - UP1))
# what A still asked its upstream for, warm: "count status path" lines
UP_WHAT=$(tail -n "$UP_WARM" "$RUN/logs/upstream-access.log" | awk '{n = split($7, p, "/"); print $9, p[n]}' | sort | uniq -c |
	awk '{printf "%s%s x %s %s", (NR > 1 ? "; " : ""), $1, $2, $3}')
UP_MISSES=
if [ "$UP_WARM" -gt 0 ] && ! tail -n "$UP_WARM" "$RUN/logs/upstream-access.log" | awk '$9 != 404 {bad = 1} END {exit !bad}'; then
	UP_MISSES=" All of them are misses (404): files the client asks for that the upstream lacks (Maven's super POM names maven-antrun-plugin 1.3 and maven-assembly-plugin 2.2-beta-5, which Debian does not ship); A remembers a miss for its NegativeTTL (2 minutes) and asks again after that, so a round started later than that after the previous one asks once more."
fi
A_CPU=$(awk -v t="$(($(cpu_ticks "$A_PID") - CPU0))" -v h="$TCK" 'BEGIN{printf "%.2f", t/h}')
med() { tr ' ' '\n' <<<"${T[$1]}" | grep . | median; }
PA_MED=$(med pip-A) PC_MED=$(med pip-C) PF_MED=$(med pip-F) MA_MED=$(med mvn-A) MC_MED=$(med mvn-C) MF_MED=$(med mvn-F)
# the part of the time the server accounts for: (A - F) / (C - F)
# paired k: the median of the per-round ratios A/C and their range (robust
# to load that drifts across rounds, which a ratio of medians is not)
paired() {
	paste -d' ' <(tr ' ' '\n' <<<"${T[$1-A]}" | grep .) <(tr ' ' '\n' <<<"${T[$1-C]}" | grep .) |
		awk '$2 > 0 {print $1 / $2}' | sort -g | awk '{a[NR] = $1} END {if (NR == 0) {print "n/a"; exit} m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2fx (%.2f-%.2f)", m, a[1], a[NR]}'
}
# (n/a when either server adds less than a tenth of F: that is noise)
excess() { awk -v a="$1" -v c="$2" -v f="$3" 'BEGIN{num="^[0-9]+([.][0-9]+)?$"; if(a !~ num || c !~ num || f !~ num) print "n/a"; else if(c-f <= f/10 || a-f <= f/10) print "n/a (within noise)"; else printf "%.2fx", (a-f)/(c-f)}'; }
read -r MVN_FILES MVN_MB <"$RUN/tmp/mvn-files"
A_RSS=$(awk '/^VmRSS/{printf "%.0f", $2/1024}' "/proc/$A_PID/status" 2>/dev/null || echo n/a)

# ---------------------------------------------------------------- fragment
PIPV=$("$PY" -m pip --version | awk '{print $2}')
PYV=$("$PY" -c 'import platform; print(platform.python_version())')
MVNV=$(mvn -v 2>/dev/null | sed -n 's/\x1b\[[0-9;]*m//g; s/^Apache Maven \([^ ]*\).*/\1/p')
JAVAV=$(mvn -v 2>/dev/null | sed -n 's/^Java version: \([^,]*\),.*/\1/p')
NGINXV=$(nginx -v 2>&1 | sed 's|.*nginx/||')
round() { awk -v x="$1" 'BEGIN{if (x ~ /^[0-9.]+$/) printf "%.2f", x; else print x}'; }
out "## PyPI and Maven"
out ""
out "Warm runs through this registry (A) and through nginx serving the same files from disk (C), $RUNS rounds, interleaved (the order rotates each round), after one priming run through each. Median seconds of the client command (wall clock; process start-up included). F is the client alone, without a server (pip from a local directory with \`--no-index --find-links\`; mvn \`-o\` on a full local repository): the floor of the client's own work, so (A-F)/(C-F) compares what the servers add. \"ours/nginx\" is the ratio of the medians, as in the npm tables; \"per round\" the median of each round's A/C, which load drifting across rounds disturbs less."
out ""
out "| client command | A: ours | C: nginx | F: client alone | runs | ours/nginx | per round, median (range) | (A-F)/(C-F) |"
out "|---|---|---|---|---|---|---|---|"
out "| \`pip download --no-deps --no-cache-dir\` of $N_WHEELS pinned wheels ($WHEEL_MB MB) | $(round "$PA_MED") | $(round "$PC_MED") | $(round "$PF_MED") | $RUNS | $(ratio "$PA_MED" "$PC_MED") | $(paired pip) | $(excess "$PA_MED" "$PC_MED" "$PF_MED") |"
out "| \`mvn -B $MVN_GOAL\`, empty local repository ($MVN_FILES jars and POMs, $MVN_MB MB) | $(round "$MA_MED") | $(round "$MC_MED") | $(round "$MF_MED") | $RUNS | $(ratio "$MA_MED" "$MC_MED") | $(paired mvn) | $(excess "$MA_MED" "$MC_MED" "$MF_MED") |"
out ""
out "All runs (s): pip A:${T[pip-A]}, C:${T[pip-C]}, F:${T[pip-F]}; mvn A:${T[mvn-A]}, C:${T[mvn-C]}, F:${T[mvn-F]}."
out ""
out "- Upstream of A: the same nginx over the same files on another port, whose access log counts A's requests: $UP_PRIME during the priming runs, $UP_WARM during the $RUNS measured rounds${UP_WHAT:+ (count x status file: $UP_WHAT)}.$UP_MISSES A spent ${A_CPU} s of CPU over the measured rounds and held ${A_RSS} MB RSS at the end."
out "- Set-up of A: domain \`acme\`, repository \`pypi\` with the \`public:pypi\` external connection (\`--pypi-upstream\`: the PEP 503/691 tree on nginx) and repository \`maven\` with \`public:maven-central\` (\`--maven-upstream\`: nginx over $MAVEN_REPO), both \`--prefer-cached\`; pip and mvn use the token of an IAM user with a read-only policy (pip as the basic-auth password of user \`aws\` in the index URL; mvn from settings.xml as CodeArtifact's documentation writes it, sent after the 401 challenge)."
out "- PyPI files: bench/formats/make_wheels.py writes 60 valid wheels of 40 projects (payload from a seeded PRNG, incompressible, 10 KB to 4.3 MB), a PEP 503 HTML and PEP 691 JSON page per project (nginx picks by \`Accept\`) and each wheel's METADATA (PEP 658); \`requirements.txt\` pins one version per project. Each run downloads into a fresh directory with \`PIP_CONFIG_FILE=/dev/null\`; the file count and every sha256 are checked after the timing."
if [ -n "$MVN_NOTE" ]; then
	out "- Maven: $MVN_NOTE"
else
	out "- Maven: bench/formats/maven-project/pom.xml (guava, commons-lang3, -text, -compress, -io, -codec, httpclient, jsoup, slf4j, junit-jupiter for tests; every plugin pinned to what Debian ships). \`dependency:go-offline\` resolves the dependencies and all plugins of the clean, default and site lifecycles, so it needs Debian's libmaven-dependency-plugin-java, libmaven-clean-plugin-java and libmaven-site-plugin-java besides the packages scripts/test.sh installs. Both servers serve bench/formats/maven_tree.py's copy of that tree (symlinks) with the \`.sha1\` and \`.md5\` files Debian's lacks (without them mvn asks nginx for both, gets 404s and logs a warning with a stack trace per file, which in a first quick run made mvn through nginx about 1.5 times slower than through ours)."
fi
out "- mvn's JVM start-up and its own resolution work dominate its time (compare F); the servers differ in what is left. Absolute times are noisy on a shared machine; the ratios from interleaved runs are what to compare, and (A-F)/(C-F) is the noisier of the two (a difference of differences)."
out "- Versions: registry $COMMIT, Python $PYV, pip $PIPV, Maven $MVNV, Java $JAVAV, nginx $NGINXV; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)."
out "- Reproduce: \`bench/formats.sh${ARGS:+ $ARGS}\`."

if [ -n "$OUT" ]; then
	cp "$FRAG" "$OUT"
	log "fragment: $OUT"
else
	cat "$FRAG"
fi
