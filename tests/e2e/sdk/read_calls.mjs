// Contract check: drive the READ and DELETE calls of the official `@inkeep/inkeep-analytics`
// SDK (pinned in package.json) against a running threadline server. The SDK parses every
// response with strict zod schemas, so a shape difference makes the call throw.
// Same conventions as write_calls.mjs: one line per check, last line "<n> passed, <m> failed".
//
// Env: THREADLINE_URL, THREADLINE_WEB_KEY, THREADLINE_API_KEY (keys of one project).

import assert from "node:assert/strict";
import { InkeepAnalytics } from "@inkeep/inkeep-analytics";
import * as errors from "@inkeep/inkeep-analytics/models/errors";

const BASE_URL = process.env.THREADLINE_URL;
const WEB_KEY = process.env.THREADLINE_WEB_KEY;
const API_KEY = process.env.THREADLINE_API_KEY;

let passed = 0;
let failed = 0;
const finish = (code) => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
};
setTimeout(() => {
  failed += 1;
  console.log("FAIL overall timeout: script did not finish within 60 s");
  finish(1);
}, 60000).unref();

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${String(error).slice(0, 1500)}`);
  }
}

// The SDK's typed error for each status: a problem+json of the wrong shape would surface as a
// ResponseValidationError or a generic APIError instead.
const TYPED = { 403: errors.Forbidden, 404: errors.NotFound };

async function rejectsWith(status, call) {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof TYPED[status], `expected ${TYPED[status].name}, got ${error}`);
    assert.equal(error.statusCode, status, String(error));
    return;
  }
  assert.fail(`expected HTTP ${status}`);
}

const sdk = new InkeepAnalytics({
  serverURL: BASE_URL,
  apiIntegrationKey: API_KEY,
  retryConfig: { strategy: "none" },
});
const asWeb = new InkeepAnalytics({
  serverURL: BASE_URL,
  apiIntegrationKey: WEB_KEY,
  retryConfig: { strategy: "none" },
});
const api = { apiIntegrationKey: API_KEY };
const web = { webIntegrationKey: WEB_KEY };

// Data to read back: two conversations (openai and support_ticket) and two feedback records.
await sdk.conversations.log(api, {
  id: "read-c1",
  type: "openai",
  externalId: "ext-read-1",
  tags: ["docs"],
  messages: [
    { id: "read-m1", role: "user", content: "How do I log feedback?" },
    { id: "read-m2", role: "assistant", content: "POST /feedback", links: [{ url: "https://docs.example.com/fb", title: "Feedback" }] },
  ],
});
// Logged with the web key for a user: a web key deletes only such chats (docs/decisions.md).
await sdk.conversations.log(web, {
  id: "read-c2",
  type: "support_ticket",
  userProperties: { id: "read-user", identificationType: "COOKIED", additionalProperties: {} },
  messages: [{ id: "read-s1", role: "customer", content: "Invoice?" }, { id: "read-s2", role: "agent", content: null }],
});
await sdk.feedback.submit({ id: "read-fb1", type: "positive", messageId: "read-m2" });
await sdk.feedback.submit({ id: "read-fb2", type: "negative", messageId: "read-m2", reasons: [{ label: "outdated", details: "old" }] });

await check("conversations.list pages newest first with real totals", async () => {
  const page = await sdk.conversations.list({ limit: 1, offset: 0 });
  assert.equal(page.total, 2);
  assert.equal(page.pageSize, 1);
  assert.equal(page.count, 1);
  assert.equal(page.conversations[0].id, "read-c2");
  const all = await sdk.conversations.list({});
  assert.deepEqual(all.conversations.map((c) => c.id), ["read-c2", "read-c1"]);
});

await check("conversations.get with a web key returns the whole history", async () => {
  const conversation = await sdk.conversations.get(web, { id: "read-c1" });
  assert.deepEqual(conversation.messages.map((m) => m.id), ["read-m1", "read-m2"]);
  assert.equal(conversation.messagesOpenAIFormat.length, 2);
  assert.deepEqual(conversation.tags, ["docs"]);
});

await check("conversation.getConversationByExternalId", async () => {
  const conversation = await sdk.conversation.getConversationByExternalId({ externalId: "ext-read-1" });
  assert.equal(conversation.id, "read-c1");
});

await check("feedback.list counts and embeds conversation and message", async () => {
  const list = await sdk.feedback.list({ limit: 10 });
  assert.equal(list.positiveFeedbackCount, 1);
  assert.equal(list.negativeFeedbackCount, 1);
  assert.equal(list.negativeFeedback[0].id, "read-fb2");
  assert.equal(list.negativeFeedback[0].message.id, "read-m2");
  assert.equal(list.negativeFeedback[0].conversation.id, "read-c1");
});

await check("feedback.getFeedbackById", async () => {
  const feedback = await sdk.feedback.getFeedbackById({ id: "read-fb2" });
  assert.equal(feedback.type, "negative");
  assert.equal(feedback.reasons[0].label, "outdated");
  assert.equal(feedback.message.content, "POST /feedback");
});

await check("a web key may not list (403)", () => rejectsWith(403, () => asWeb.conversations.list({})));
await check("an unknown conversation is a typed 404", () => rejectsWith(404, () => sdk.conversations.get(api, { id: "nope" })));

await check("conversations.delete with a web key, then gone", async () => {
  const deleted = await sdk.conversations.delete(web, { id: "read-c2" });
  assert.equal(deleted.success, true);
  await rejectsWith(404, () => sdk.conversations.get(api, { id: "read-c2" }));
  assert.equal((await sdk.conversations.list({})).total, 1);
});

await check("feedback.deleteFeedbackById is absent from the pinned SDK; DELETE /feedback/{id} over HTTP", async () => {
  const response = await fetch(`${BASE_URL}/feedback/read-fb1`, { method: "DELETE", headers: { Authorization: `Bearer ${API_KEY}` } });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { success: true, message: "Feedback deleted successfully" });
  assert.equal((await sdk.feedback.list({})).positiveFeedbackCount, 0);
});

finish(failed ? 1 : 0);
