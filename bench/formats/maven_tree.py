#!/usr/bin/env python3
"""Lays out the Maven part of bench/formats.sh: Debian's Maven repository
with the checksum files a real repository has.

    maven_tree.py SRC OUT

OUT mirrors SRC (/usr/share/maven-repo) file for file as symlinks to the
real files (Debian's tree is itself mostly symlinks into /usr/share/java),
and adds {file}.sha1 (and .md5) beside every file that lacks one. Debian's
tree has none, and without them mvn asks for both, gets two 404s and logs a
checksum warning with a stack trace for every file, which would make the
static server look slower than a registry that serves checksums.
"""

import hashlib
import os
import sys

CHECKSUMS = (".sha1", ".md5", ".sha256", ".sha512", ".asc")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: maven_tree.py SRC OUT")
    src, out = sys.argv[1], sys.argv[2]
    files = added = 0
    for dirpath, _, names in os.walk(src, followlinks=True):
        rel = os.path.relpath(dirpath, src)
        dst = os.path.normpath(os.path.join(out, rel))
        os.makedirs(dst, exist_ok=True)
        present = set(names)
        for n in names:
            real = os.path.realpath(os.path.join(dirpath, n))
            if not os.path.isfile(real):
                continue
            os.symlink(real, os.path.join(dst, n))
            files += 1
            if n.endswith(CHECKSUMS):
                continue
            with open(real, "rb") as f:
                b = f.read()
            for ext, h in ((".sha1", hashlib.sha1), (".md5", hashlib.md5)):
                if n + ext not in present:
                    with open(os.path.join(dst, n + ext), "w") as f:
                        f.write(h(b).hexdigest())
                    added += 1
    print(f"{files} files from {src}, {added} checksum files added")


if __name__ == "__main__":
    main()
