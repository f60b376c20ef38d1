// `npm run prepare`: builds dist/ (ESM and .d.ts) from src/.
//
// npm runs `prepare` on `npm pack` and when a project installs this folder
// (`npm install path/to/sdk/js`), but in neither case does it install this package's
// devDependencies first; on a fresh checkout tsc is then missing. So they are installed
// here when they are not there yet, exactly as locked (`npm ci`, scripts off: no loop).
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

if (!existsSync(tsc)) {
  console.error("@llmchat/client-sdk: installing the build tools (npm ci) to build dist/");
  execFileSync(npm, ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
}
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true }); // nothing stale
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
