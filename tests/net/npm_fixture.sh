#!/bin/bash
# Builds a local npm registry for tests/net_profiles.rs and tests/net_fetch_build.rs:
# $1/www/demo-pkg/index.html (the packument) and the tarball under $1/www/demo-pkg/-/, and a
# project in $1/proj whose package-lock.json resolves demo-pkg to http://npm.test:$2/.
# demo-pkg's install script writes node_modules/demo-pkg/installed and then tries the
# registry (writing `online` if it gets through); the project's postinstall writes
# script-ran, its build script writes dist.txt from what demo-pkg exports.
set -euo pipefail
d=$1 port=$2
mkdir -p "$d/pkg" "$d/www/demo-pkg/-" "$d/proj"
cd "$d/pkg"
cat > package.json <<JSON
{"name":"demo-pkg","version":"1.0.0","main":"index.js","scripts":{"install":"node install.js"}}
JSON
cat > install.js <<JS
require("fs").writeFileSync("installed", "yes\\n");
require("http").get("http://npm.test:$port/", () => require("fs").writeFileSync("online", "")).on("error", () => {});
JS
echo 'module.exports = 42;' > index.js
npm pack --silent >/dev/null 2>&1
mv demo-pkg-1.0.0.tgz "$d/www/demo-pkg/-/"
tgz="$d/www/demo-pkg/-/demo-pkg-1.0.0.tgz"
url="http://npm.test:$port/demo-pkg/-/demo-pkg-1.0.0.tgz"
read -r integrity shasum < <(node -e '
const b = require("fs").readFileSync(process.argv[1]), c = require("crypto");
console.log("sha512-" + c.createHash("sha512").update(b).digest("base64"), c.createHash("sha1").update(b).digest("hex"));' "$tgz")
cat > "$d/www/demo-pkg/index.html" <<JSON
{"name":"demo-pkg","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"demo-pkg","version":"1.0.0","main":"index.js","dist":{"tarball":"$url","shasum":"$shasum","integrity":"$integrity"}}}}
JSON
cat > "$d/proj/package.json" <<JSON
{"name":"proj","version":"1.0.0","dependencies":{"demo-pkg":"1.0.0"},"scripts":{"postinstall":"echo SCRIPT-RAN > script-ran","build":"node build.js"}}
JSON
cat > "$d/proj/build.js" <<'JS'
require("fs").writeFileSync("dist.txt", "value " + require("demo-pkg") + "\n");
JS
cat > "$d/proj/package-lock.json" <<JSON
{"name":"proj","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"proj","version":"1.0.0","dependencies":{"demo-pkg":"1.0.0"}},"node_modules/demo-pkg":{"version":"1.0.0","resolved":"$url","integrity":"$integrity","hasInstallScript":true}}}
JSON
