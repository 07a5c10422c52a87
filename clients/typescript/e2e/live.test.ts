/**
 * Live updates end to end in headless Chromium (docs/api/live-updates.md): two pages of one user
 * (two tabs: one browser context, one session cookie) and a page of another user, each subscribed
 * with this client against the local run. A rename in the first tab shows in the second within 1 s;
 * the other user's page receives no notice at all. Prints p50/p99 from the write to the other tab's
 * updated data (docs/performance.md, "Live updates").
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { it } from "node:test";

import type { Page } from "playwright-core";

import { useStack } from "./harness.js";

const RENAMES = 30;

const stack = useStack();

/**
 * Opens the app in `page`, signs up (when `email` is given) or reuses the context's session, and
 * subscribes. The page records every raw notice its socket receives and every data update, with
 * high-resolution wall-clock times (`performance.timeOrigin + performance.now()`).
 */
async function subscribedTab(page: Page, email: string | null): Promise<void> {
  const { api, site } = stack();
  await page.goto(`http://localhost:${(site.address() as AddressInfo).port}/`);
  await page.evaluate(
    async ({ apiUrl, email }) => {
      const { createClient, subscribe } = await import(`${location.origin}/client/index.js`);
      const client = createClient({ baseUrl: apiUrl });
      if (email !== null) {
        const started = await client.auth.signUp({ firstName: "Ada", lastName: "Lovelace", email, company: "AE", phone: "+14155550123" });
        await client.auth.verify({ challengeId: started.challengeId, code: "123456" });
      } else {
        await client.auth.session();
      }
      const now = () => performance.timeOrigin + performance.now();
      const w = window as unknown as Record<string, unknown>;
      const notices: unknown[] = [];
      const updates: Array<{ version: number; name: string; at: number }> = [];
      const statuses: string[] = [];
      Object.assign(w, { client, notices, updates, statuses, now });
      w.live = subscribe(client, {
        onData: (data: { workspaces: Array<{ name: string }> }, version: number) =>
          updates.push({ version, name: data.workspaces[0]?.name ?? "", at: now() }),
        onStatus: (status: string) => statuses.push(status),
        socket: (url: string) => {
          const socket = new WebSocket(url);
          socket.addEventListener("message", (event) => notices.push(event.data));
          return socket;
        },
      });
    },
    { apiUrl: api.url, email },
  );
  await page.waitForFunction(() => ((window as unknown as { statuses: string[] }).statuses ?? []).includes("open"), null, {
    timeout: 5000,
  });
}

it("a rename in one tab shows in the user's other tab within 1 s, and another user's tab hears nothing", async () => {
  const { api, site, browser } = stack();
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const tabs = await browser.newContext(); // one user's tabs share the cookie
  const [first, second] = [await tabs.newPage(), await tabs.newPage()];
  const strangerContext = await browser.newContext();
  const stranger = await strangerContext.newPage();
  await subscribedTab(first, `live-a-${stamp}@example.com`);
  await subscribedTab(second, null);
  await subscribedTab(stranger, `live-b-${stamp}@example.com`);

  const latencies: number[] = [];
  for (let n = 0; n < RENAMES; n += 1) {
    // When the first tab renames the workspace
    const written = await first.evaluate(async (name) => {
      const w = window as unknown as { client: any; now: () => number };
      const start = w.now();
      const answer = await w.client.userData.mutate({ type: "workspace.update", workspaceId: "ws-1", name });
      return { start, version: answer.version as number };
    }, `Renamed ${n}`);
    // Then the second tab holds the new name within a second
    await second.waitForFunction(
      (version) => (window as unknown as { updates: Array<{ version: number }> }).updates.some((u) => u.version >= version),
      written.version,
      { timeout: 1000 },
    );
    const update = await second.evaluate(
      (version) => (window as unknown as { updates: Array<{ version: number; name: string; at: number }> }).updates.find((u) => u.version >= version),
      written.version,
    );
    assert.ok(update);
    if (update.version === written.version) assert.equal(update.name, `Renamed ${n}`);
    latencies.push(update.at - written.start);
  }
  // And the other user's tab never received a notice (its own sign-up read wrote before it subscribed)
  const strangerNotices = await stranger.evaluate(() => (window as unknown as { notices: unknown[] }).notices);
  assert.deepEqual(strangerNotices, []);

  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor((latencies.length - 1) / 2)] ?? NaN;
  const p99 = latencies[Math.min(latencies.length - 1, Math.round(0.99 * (latencies.length - 1)))] ?? NaN;
  console.log(`write-to-other-tab latency in Chromium, ${latencies.length} renames: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  assert.ok(p99 < 1000);
  await tabs.close();
  await strangerContext.close();
});
