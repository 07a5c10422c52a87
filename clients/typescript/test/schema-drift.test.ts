import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

it("src/schema.ts is what openapi-typescript makes of docs/api/openapi.json (npm run generate)", () => {
  // Given a fresh generation into a temporary file, exactly as `npm run generate` does
  const scratch = mkdtempSync(join(tmpdir(), "ciq-schema-"));
  try {
    const fresh = join(scratch, "schema.ts");
    execFileSync(
      process.execPath,
      [join(PACKAGE, "node_modules/openapi-typescript/bin/cli.js"), "../../docs/api/openapi.json", "--enum-values", "--output", fresh],
      { cwd: PACKAGE, stdio: "pipe" },
    );
    // Then the checked-in file is identical
    assert.equal(
      readFileSync(join(PACKAGE, "src/schema.ts"), "utf8"),
      readFileSync(fresh, "utf8"),
      "src/schema.ts is stale: run `npm run generate` in clients/typescript",
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
