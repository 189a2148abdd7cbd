// mirror.mjs: download, once, the packuments (full and abbreviated) and the
// locked tarballs of bench/npm-project from an npm registry, then lay them
// out for nginx with tarball URLs pointing at nginx.
//
//   node mirror.mjs fetch <lockfile> <upstream-url> <raw-dir>
//   node mirror.mjs layout <raw-dir> <www-dir> <nginx-base-url> <upstream-url>
//   node mirror.mjs pick <raw-dir>      prints "name version bytes" of the
//                                       tarball nearest 1 MB and the largest
import fs from "node:fs";
import path from "node:path";

const [cmd, ...args] = process.argv.slice(2);

function locked(lockfile) {
  const lock = JSON.parse(fs.readFileSync(lockfile, "utf8"));
  const out = [];
  for (const [key, p] of Object.entries(lock.packages)) {
    if (!key) continue;
    const name = p.name || key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    out.push({ name, version: p.version });
  }
  return out;
}

const esc = (name) => name.replace("/", "%2f");

async function get(url, accept) {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url, { headers: accept ? { accept } : {} });
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return Buffer.from(await r.arrayBuffer());
    } catch (e) {
      if (i >= 3) throw e;
      await new Promise((res) => setTimeout(res, 500 * (i + 1)));
    }
  }
}

async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

async function fetchAll(lockfile, upstream, raw) {
  upstream = upstream.replace(/\/+$/, "");
  const pkgs = locked(lockfile);
  const names = [...new Set(pkgs.map((p) => p.name))];
  await pool(names, 8, async (name) => {
    const f = path.join(raw, "pk", "full", name, "doc.json");
    if (fs.existsSync(f)) return;
    const body = await get(`${upstream}/${esc(name)}`, "application/json");
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, body);
  });
  await pool(pkgs, 8, async ({ name, version }) => {
    const doc = JSON.parse(fs.readFileSync(path.join(raw, "pk", "full", name, "doc.json"), "utf8"));
    const url = doc.versions[version].dist.tarball;
    const f = path.join(raw, "tarballs", new URL(url).pathname);
    if (fs.existsSync(f)) return;
    const body = await get(url);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f + ".part", body);
    fs.renameSync(f + ".part", f);
  });
  console.log(`mirrored ${names.length} packuments, ${pkgs.length} tarballs`);
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// The fields of npm's abbreviated ("corgi") packument, which npm install
// asks for with Accept: application/vnd.npm.install-v1+json.
const CORGI_VERSION_FIELDS = ["name", "version", "deprecated", "dependencies", "optionalDependencies",
  "devDependencies", "bundleDependencies", "peerDependencies", "peerDependenciesMeta", "acceptDependencies",
  "bin", "directories", "dist", "engines", "_hasShrinkwrap", "hasInstallScript", "cpu", "os", "libc",
  "funding", "license"];

export function abbreviate(doc) {
  const versions = {};
  for (const [v, m] of Object.entries(doc.versions || {})) {
    const a = {};
    for (const k of CORGI_VERSION_FIELDS) if (m[k] !== undefined) a[k] = m[k];
    if (a.hasInstallScript === undefined && m.scripts && (m.scripts.install || m.scripts.preinstall || m.scripts.postinstall)) a.hasInstallScript = true;
    versions[v] = a;
  }
  return { name: doc.name, modified: (doc.time && doc.time.modified) || undefined, "dist-tags": doc["dist-tags"], versions };
}

// layout writes www/pk/full/<name>/doc.json (the upstream's document) and
// www/pk/corgi/<name>/doc.json (its abbreviation, made here: some
// registries and mirrors answer every Accept with the full document), with
// every tarball URL rewritten to base + its path, where fetch stored the
// file (a registry's packuments may name another host for tarballs than
// the URL they were fetched from, e.g. a mirror's). Nothing in the tree
// may point off this machine: the clients of nginx would fetch from there.
function layout(raw, www, base) {
  base = base.replace(/\/+$/, "") + "/";
  fs.rmSync(www, { recursive: true, force: true });
  const full = path.join(raw, "pk", "full");
  for (const f of walk(full)) {
    if (!f.endsWith("/doc.json")) continue;
    const text = fs.readFileSync(f, "utf8").replace(/"tarball":\s*"https?:\/\/[^\/"]+\//g, `"tarball":"${base}`);
    if (/"tarball":\s*"https?:\/\//.test(text.split(`"tarball":"${base}`).join(""))) throw new Error(`${f}: a tarball URL was not rewritten`);
    const rel = path.relative(full, f);
    for (const [variant, body] of [["full", text], ["corgi", JSON.stringify(abbreviate(JSON.parse(text)))]]) {
      const out = path.join(www, "pk", variant, rel);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, body);
    }
  }
  fs.symlinkSync(path.resolve(raw, "tarballs"), path.join(www, "tarballs"));
}

function pick(raw) {
  const tgz = walk(path.join(raw, "tarballs")).filter((f) => f.endsWith(".tgz"))
    .map((f) => ({ f, size: fs.statSync(f).size }));
  const near = tgz.reduce((a, b) => (Math.abs(b.size - 2 ** 20) < Math.abs(a.size - 2 ** 20) ? b : a));
  const big = tgz.reduce((a, b) => (b.size > a.size ? b : a));
  for (const t of [near, big]) {
    // tarballs/<name>/-/<file>.tgz
    const rel = path.relative(path.join(raw, "tarballs"), t.f);
    const [name, file] = rel.split("/-/");
    const version = file.slice(name.slice(name.lastIndexOf("/") + 1).length + 1, -".tgz".length);
    console.log(`${name} ${version} ${t.size}`);
  }
}

switch (cmd) {
  case "fetch": await fetchAll(...args); break;
  case "layout": layout(...args); break;
  case "abbreviate": process.stdout.write(JSON.stringify(abbreviate(JSON.parse(fs.readFileSync(0, "utf8"))))); break;
  case "pick": pick(...args); break;
  default: console.error("usage: mirror.mjs fetch|layout|pick ..."); process.exit(2);
}
