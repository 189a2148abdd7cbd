#!/usr/bin/env bash
# Runs every test of the project, installing what the tests need first:
# Debian's twine and maven, and the Maven plugins Debian packages into
# /usr/share/maven-repo, which the Maven end-to-end test seeds into a
# registry because it has no route to Maven Central (apt-get, when
# missing); and a MinIO server built with `go install` (for the S3 blob
# store conformance suite).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v twine >/dev/null 2>&1 || missing+=(twine)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
for pkg in libmaven-compiler-plugin-java libmaven-resources-plugin-java libmaven-jar-plugin-java \
           libmaven-install-plugin-java libmaven-deploy-plugin-java libsurefire-java; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

gobin="$(go env GOPATH)/bin"
if ! command -v minio >/dev/null 2>&1 && [ ! -x "$gobin/minio" ]; then
  echo "building minio with go install (a few minutes, once)"
  go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
fi
export PATH="$PATH:$gobin"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m ./...
