/**
 * A large answer in headless Chromium: the client reads an account of over 1 MB of JSON that the
 * local run answers spliced from its stored answer fragments with `Content-Encoding: gzip`
 * (docs/api/user-data.md, "Compression"); the browser decodes it and the client gets the data.
 *
 * Needs the repository's Python (.venv, or CIQ_PYTHON) and Chromium (/usr/bin/chromium, or CHROMIUM).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { it } from "node:test";

import { useStack } from "./harness.js";

const REQUESTS = 7;
const KBS_PER_REQUEST = 4;

const stack = useStack();

it("the client reads an account of over 1 MB spliced from its fragments, gzip-encoded", async () => {
  const { api, site, browser } = stack();
  const page = await browser.newPage();
  await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
  const email = `e2e-large-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const encodings: string[] = [];
  page.on("response", (response) => {
    if (response.request().method() === "GET" && new URL(response.url()).pathname === "/api/user-data") {
      encodings.push(response.headers()["content-encoding"] ?? "none");
    }
  });

  // Given a user whose KBs hold long drafts (over 1 MB of answer), written by the client
  // When the client reads the data in the browser
  const seen = await page.evaluate(
    async ({ apiUrl, email, requests, perRequest }) => {
      const { createClient } = await import(`${location.origin}/client/index.js`);
      const client = createClient({ baseUrl: apiUrl });
      const started = await client.auth.signUp({
        firstName: "Ada",
        lastName: "Lovelace",
        email,
        company: "Analytical Engines",
        phone: "+14155550123",
      });
      await client.auth.verify({ challengeId: started.challengeId, code: "123456" });
      await client.userData.get();
      const text = (n: number) => Array.from({ length: 4900 }, (_, i) => "abcdefghijklmnopqrstuvwxyzé ☕"[(i * 7 + n) % 29]).join("");
      for (let r = 0; r < requests; r += 1) {
        const mutations = Array.from({ length: perRequest }, (_, k) => ({
          type: "knowledgeBase.create",
          workspaceId: "ws-1",
          name: `KB ${r}-${k} ☕`,
          draft: {
            greetings: { presets: [], customText: text(r * 10 + k) },
            closing: { presets: [], customText: text(r * 10 + k + 1) },
            exceptions: { presets: [], customText: text(r * 10 + k + 2) },
            clarifications: { presets: [], customText: text(r * 10 + k + 3) },
            hashtags: { presets: [], customText: text(r * 10 + k + 4) },
            emojis: { presets: [], customText: text(r * 10 + k + 5) },
            brandPersonality: { presets: [], customText: text(r * 10 + k + 6) },
            primaryObjective: { presets: [], customText: text(r * 10 + k + 7) },
          },
        }));
        await client.userData.mutate({ mutations });
      }
      const read = await client.userData.get();
      const last = read.data.knowledgeBases[read.data.knowledgeBases.length - 1];
      return {
        size: new TextEncoder().encode(JSON.stringify(read)).length,
        knowledgeBases: read.data.knowledgeBases.length,
        lastName: last.name,
        lastGreeting: last.draft.greetings.customText === text((requests - 1) * 10 + perRequest - 1),
        version: read.version,
      };
    },
    { apiUrl: api.url, email, requests: REQUESTS, perRequest: KBS_PER_REQUEST },
  );

  // Then the answer was spliced and gzip-encoded (Chromium accepts gzip first), and the client
  // holds all of it, unchanged
  assert.ok(seen.size > 1024 * 1024, `the answer is only ${seen.size} bytes`);
  assert.equal(encodings.at(-1), "gzip");
  assert.deepEqual(
    { knowledgeBases: seen.knowledgeBases, lastName: seen.lastName, lastGreeting: seen.lastGreeting },
    { knowledgeBases: 1 + REQUESTS * KBS_PER_REQUEST, lastName: `KB ${REQUESTS - 1}-${KBS_PER_REQUEST - 1} ☕`, lastGreeting: true },
  );
  assert.equal(seen.version, 1 + REQUESTS); // the first read stored the defaults (version 1)
  await page.close();
});
