/**
 * End to end in headless Chromium: a page served on one localhost port uses this client against the
 * local run (`python -m local`) on another port, with the session cookie (`credentials: "include"`),
 * as the Next.js app does in development.
 *
 * Needs the repository's Python (.venv, or CIQ_PYTHON) and Chromium (/usr/bin/chromium, or CHROMIUM).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { it } from "node:test";

import { useStack } from "./harness.js";

const stack = useStack();

it("a page on another localhost port signs up, reads and writes with the cookie, then signs out", async () => {
  const { api, site, browser } = stack();
  const page = await browser.newPage();
  const origin = `http://localhost:${(site.address() as AddressInfo).port}`;
  await page.goto(`${origin}/`);
  const email = `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

  // Given the app's page / When it runs the client in the browser (the code is the local run's fixed 123456)
  const seen = await page.evaluate(
    async ({ apiUrl, email }) => {
      const { createClient, ApiError } = await import(`${location.origin}/client/index.js`);
      const client = createClient({ baseUrl: apiUrl }); // cookie mode: credentials "include"
      const started = await client.auth.signUp({
        firstName: "Ada",
        lastName: "Lovelace",
        email,
        company: "Analytical Engines",
        phone: "+14155550123",
      });
      const opened = await client.auth.verify({ challengeId: started.challengeId, code: "123456" });
      const session = await client.auth.session();
      const first = await client.userData.get();
      const created = await client.userData.mutate({ type: "workspace.create", name: "Spring campaign" }, { ifMatch: true });
      // A decision made on version 1 (stale): the client refetches and reapplies it.
      const reordered = await client.userData.mutate(
        { type: "workspace.reorder", workspaceIds: ["ws-1"] },
        {
          ifMatch: 1,
          reapply: (fresh: { data: { workspaces: { id: string }[] } }) => ({
            type: "workspace.reorder",
            workspaceIds: fresh.data.workspaces.map((w) => w.id).reverse(),
          }),
        },
      );
      const versionSeen = client.version(); // the ETag kept for this user
      const agents = await client.liveAgents.list(); // the local run has no live-agents service
      await client.auth.signOut();
      let afterSignOut = "no error";
      try {
        await client.auth.session();
      } catch (error) {
        const refused = error as { status: number; code: string };
        afterSignOut = error instanceof ApiError ? `${refused.status} ${refused.code}` : String(error);
      }
      return {
        sessionEmail: session.profile.email,
        sameUser: opened.profile.userId === session.profile.userId,
        firstVersion: first.version,
        createdVersion: created.version,
        workspaceNames: reordered.data.workspaces.map((w: { name: string }) => w.name),
        reorderedVersion: reordered.version,
        clientVersion: versionSeen,
        agents: { count: agents.agents.length, source: agents.source, degraded: agents.degraded },
        afterSignOut,
        cookieVisibleToScript: document.cookie.includes("ciq_session"),
      };
    },
    { apiUrl: api.url, email },
  );

  // Then the cookie carried the session across origins, and every rule of the client held
  assert.deepEqual(seen, {
    sessionEmail: email,
    sameUser: true,
    firstVersion: 1,
    createdVersion: 2,
    workspaceNames: ["Spring campaign", "My Workspace"],
    reorderedVersion: 3,
    clientVersion: 3,
    agents: { count: 2, source: "store", degraded: true }, // store mode: degraded, surfaced
    afterSignOut: "401 unauthorized",
    cookieVisibleToScript: false,
  });
  await page.close();
});
