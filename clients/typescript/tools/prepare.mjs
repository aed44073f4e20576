// npm's `prepare` (run by `npm pack`, `npm publish`, and installs from a
// folder or git): builds dist/ with tsc when the dev dependencies are there;
// without them, a dist/ already built is used as it is, and with neither it
// says what to do instead of failing on a missing `tsc`.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const here = new URL("..", import.meta.url).pathname;
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  tsc = undefined;
}
if (tsc !== undefined) {
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: here, stdio: "inherit" });
} else if (!existsSync(new URL("../dist/index.js", import.meta.url))) {
  console.error(
    "@memorid/client: dist/ is not built and TypeScript is not installed here.\n" +
      "Build it first (cd clients/typescript && npm ci && npm run build), or install the\n" +
      "tarball that `npm pack` makes in clients/typescript.",
  );
  process.exit(1);
}
