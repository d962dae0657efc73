// Contract check: drive the WRITE calls of the official `@inkeep/inkeep-analytics`
// SDK (pinned in package.json) against a running threadline server.
//
// The SDK parses every response with strict zod schemas, so any shape difference
// (missing required key, null where not nullable, unknown enum value, wrong
// content type) makes the call throw. Each check prints one line; the last line
// is "<passed> passed, <failed> failed". Exit 0 only if nothing failed.
//
// Env: THREADLINE_URL (e.g. http://127.0.0.1:8123), THREADLINE_WEB_KEY,
//      THREADLINE_API_KEY, optional THREADLINE_SDK_TIMEOUT_MS (default 60000).

import assert from "node:assert/strict";
import { HTTPClient, InkeepAnalytics } from "@inkeep/inkeep-analytics";
import * as errors from "@inkeep/inkeep-analytics/models/errors";
// `models/errors` does not re-export the base class of all HTTP-response errors.
import { InkeepAnalyticsError } from "@inkeep/inkeep-analytics/models/errors/inkeepanalyticserror.js";

const BASE_URL = process.env.THREADLINE_URL;
const WEB_KEY = process.env.THREADLINE_WEB_KEY;
const API_KEY = process.env.THREADLINE_API_KEY;
const OVERALL_TIMEOUT_MS = Number(process.env.THREADLINE_SDK_TIMEOUT_MS || 60000);

let passed = 0;
let failed = 0;

function finish(code) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}

const overallTimer = setTimeout(() => {
  failed += 1;
  console.log(`FAIL overall timeout: script did not finish within ${OVERALL_TIMEOUT_MS} ms`);
  finish(1);
}, OVERALL_TIMEOUT_MS);

if (!BASE_URL || !WEB_KEY || !API_KEY) {
  failed += 1;
  console.log("FAIL environment: THREADLINE_URL, THREADLINE_WEB_KEY and THREADLINE_API_KEY must all be set");
  clearTimeout(overallTimer);
  finish(1);
}

// ---------------------------------------------------------------------------
// HTTP plumbing: one HTTPClient shared by all SDK instances. It records the last
// raw response (for diagnostics and for wire-level checks of keys the pinned
// SDK strips) and can rewrite the next request body after the SDK's own
// client-side validation (to send bodies the SDK refuses to build).
// ---------------------------------------------------------------------------
const wire = { requests: 0, last: null, rewriteNextBody: null };
const httpClient = new HTTPClient();
httpClient.addHook("beforeRequest", async (req) => {
  wire.requests += 1;
  const rewrite = wire.rewriteNextBody;
  if (!rewrite) return req;
  wire.rewriteNextBody = null;
  const body = JSON.parse(await req.clone().text());
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: JSON.stringify(rewrite(body)),
  });
});
httpClient.addHook("response", async (res, req) => {
  wire.last = {
    method: req.method,
    url: req.url,
    status: res.status,
    contentType: res.headers.get("content-type") || "",
    body: await res.clone().text().catch(() => "<unreadable>"),
  };
});

const common = {
  serverURL: BASE_URL,
  httpClient,
  retryConfig: { strategy: "none" }, // the SDK default retries 5XX/429 for up to 1 h
  timeoutMs: 15000,
};
// Per-operation security (conversations.log, events.log) is passed per call.
const sdk = new InkeepAnalytics(common);
// feedback.submit uses the global security option `apiIntegrationKey`.
const feedbackApi = new InkeepAnalytics({ ...common, apiIntegrationKey: API_KEY });
const feedbackWeb = new InkeepAnalytics({ ...common, apiIntegrationKey: WEB_KEY });
const feedbackBadKey = new InkeepAnalytics({ ...common, apiIntegrationKey: "tl_invalid_key_for_sdk_contract" });

const WEB = { webIntegrationKey: WEB_KEY };
const API = { apiIntegrationKey: API_KEY };
const BAD = { apiIntegrationKey: "tl_invalid_key_for_sdk_contract" };

// Unique per run so repeated runs against a persistent server do not collide.
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------
function truncate(s, n = 4000) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n)}...(${s.length - n} more chars)` : s;
}

function describe(e) {
  const lines = [`${e?.name ?? typeof e}: ${truncate(e?.message ?? String(e), 2000)}`];
  if (typeof e?.pretty === "function") {
    try {
      lines.push(truncate(e.pretty()));
    } catch (prettyErr) {
      // pretty() only works with the zod major the SDK was generated for.
      lines.push(`(pretty() failed: ${prettyErr}); zod issues: ${truncate(JSON.stringify(e.cause?.issues ?? e.cause))}`);
    }
  }
  if (e?.statusCode !== undefined) lines.push(`HTTP ${e.statusCode} content-type=${JSON.stringify(e.contentType)}`);
  if (typeof e?.body === "string") lines.push(`response body: ${truncate(e.body || '""')}`);
  else if (e?.rawValue !== undefined) lines.push(`raw value: ${truncate(JSON.stringify(e.rawValue))}`);
  if (e?.cause && !(e.cause instanceof Error && typeof e.pretty === "function")) {
    lines.push(`cause: ${truncate(e.cause?.stack ?? e.cause, 1000)}`);
  }
  if (wire.last) {
    const w = wire.last;
    lines.push(`last wire response: ${w.method} ${w.url} -> ${w.status} ${w.contentType} ${truncate(w.body)}`);
  }
  return lines.join("\n    ");
}

async function check(name, fn) {
  wire.last = null;
  wire.rewriteNextBody = null;
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n    ${describe(e)}`);
  }
}

function need(value, what) {
  if (value === undefined || value === null) {
    throw new Error(`prerequisite missing (${what}); an earlier check failed`);
  }
  return value;
}

function assertNonEmptyString(v, what) {
  assert.equal(typeof v, "string", `${what} should be a string, got ${JSON.stringify(v)}`);
  assert.ok(v.length > 0, `${what} should be non-empty`);
}

function assertTimestamp(v, what) {
  assertNonEmptyString(v, what);
  assert.ok(!Number.isNaN(Date.parse(v)), `${what} should be a parseable timestamp, got ${JSON.stringify(v)}`);
}

// Compare each key of `expected` with the same key of `actual` (extra keys in
// `actual`, e.g. optional keys the server emits as null, are ignored).
function assertSubset(actual, expected, what) {
  assert.ok(actual && typeof actual === "object", `${what} should be an object, got ${JSON.stringify(actual)}`);
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(actual[k], v, `${what}.${k}`);
  }
}

// userProperties as the SDK hands them back: declared keys at top level, the
// rest gathered into `additionalProperties` (absent when there are none).
function assertUserProps(actual, sent, what) {
  const { additionalProperties = {}, ...declared } = sent;
  assertSubset(actual, declared, what);
  if (Object.keys(additionalProperties).length > 0) {
    assert.deepEqual(actual.additionalProperties, additionalProperties, `${what}.additionalProperties`);
  }
}

async function expectError(promise, ErrorClass, status, code) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    if (!(e instanceof ErrorClass)) {
      throw new Error(`expected ${ErrorClass.name} (HTTP ${status}), got:\n    ${describe(e)}`);
    }
    assert.equal(e.statusCode, status, "HTTP status");
    assert.equal(e.status, status, "problem+json `status` member");
    assert.equal(e.code, code, "problem+json `code` member");
    assert.equal(e.error?.code, code, "problem+json `error.code` member");
    assert.equal(typeof e.error?.message, "string", "problem+json `error.message` member");
    assert.equal(typeof e.title, "string", "problem+json `title` member");
    assert.equal(typeof e.detail, "string", "problem+json `detail` member");
    return e;
  }
  throw new assert.AssertionError({
    message: `expected ${ErrorClass.name} (HTTP ${status}) but the call succeeded: ${truncate(JSON.stringify(value))}`,
  });
}

// ---------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------
const state = {};

async function conversationChecks() {
  const userMsg = { role: "user", content: "How do I log feedback?" };
  const assistantMsg = {
    role: "assistant",
    content: "POST /feedback",
    links: [{
      url: "https://docs.example.com/fb",
      title: "Feedback",
      type: "documentation",
      breadcrumbs: ["Docs", "Analytics API"],
    }],
  };

  await check("conversations.log [web key] openai, no ids -> conversation + 2 messages with ids", async () => {
    const conv = await sdk.conversations.log(WEB, {
      type: "openai",
      messages: [userMsg, assistantMsg],
      properties: { source: "sdk-contract", run: RUN },
      userProperties: { id: `u-${RUN}`, identificationType: "COOKIED", additionalProperties: {} },
    });
    assertNonEmptyString(conv.id, "conversation.id");
    assert.equal(conv.type, "openai");
    assertTimestamp(conv.createdAt, "conversation.createdAt");
    assertTimestamp(conv.updatedAt, "conversation.updatedAt");
    assert.equal(typeof conv.projectId, "string", "conversation.projectId (from the key)");
    assert.equal(conv.messages.length, 2, "messages.length");
    conv.messages.forEach((m, i) => {
      assertNonEmptyString(m.id, `messages[${i}].id`);
      assert.equal(m.type, "openai", `messages[${i}].type`);
      assert.equal(m.conversationId, conv.id, `messages[${i}].conversationId`);
      assertTimestamp(m.createdAt, `messages[${i}].createdAt`);
    });
    assert.notEqual(conv.messages[0].id, conv.messages[1].id, "message ids are distinct");
    assertSubset(conv.messages[0], userMsg, "messages[0]");
    assert.equal(conv.messages[1].role, "assistant");
    assert.equal(conv.messages[1].content, assistantMsg.content);
    assert.equal(conv.messages[1].links?.length, 1, "messages[1].links.length");
    assertSubset(conv.messages[1].links[0], assistantMsg.links[0], "messages[1].links[0]");
    assert.deepEqual(conv.properties, { source: "sdk-contract", run: RUN });
    assertUserProps(conv.userProperties, { id: `u-${RUN}`, identificationType: "COOKIED" }, "userProperties");
    assert.equal(conv.messagesOpenAIFormat.length, 2, "messagesOpenAIFormat.length");
    assert.deepEqual(conv.messagesOpenAIFormat.map((m) => [m.role, m.content]),
      [["user", userMsg.content], ["assistant", assistantMsg.content]], "messagesOpenAIFormat role/content");
    state.openai = conv;
  });

  await check("conversations.log [web key] same id + full history + 1 new message -> 3 messages, ids kept", async () => {
    const first = need(state.openai, "openai conversation");
    const history = first.messages.map((m) => ({
      id: m.id,
      role: m.role,
      content: m.content,
      ...(m.links ? { links: m.links } : {}),
    }));
    const newMsg = { role: "user", content: "And how do I log events?" };
    // The same userProperties.id on every post, as the widget sends: a web key changes only its
    // own user's conversations (docs/decisions.md).
    const conv = await sdk.conversations.log(WEB, {
      id: first.id,
      type: "openai",
      messages: [...history, newMsg],
      userProperties: { id: `u-${RUN}`, identificationType: "COOKIED", additionalProperties: {} },
    });
    assert.equal(conv.id, first.id, "conversation id unchanged");
    assert.equal(conv.type, "openai");
    assert.equal(conv.messages.length, 3, "exactly 3 messages (no duplicates of the re-sent history)");
    assert.equal(conv.messages[0].id, first.messages[0].id, "messages[0].id unchanged");
    assert.equal(conv.messages[1].id, first.messages[1].id, "messages[1].id unchanged");
    assertNonEmptyString(conv.messages[2].id, "messages[2].id");
    assert.ok(!first.messages.some((m) => m.id === conv.messages[2].id), "new message gets a new id");
    assert.deepEqual(conv.messages.map((m) => m.content), [userMsg.content, assistantMsg.content, newMsg.content]);
    conv.messages.forEach((m, i) => assert.equal(m.conversationId, conv.id, `messages[${i}].conversationId`));
    assert.equal(conv.messagesOpenAIFormat.length, 3, "messagesOpenAIFormat.length");
    state.openai = conv;
  });

  const ticketId = `tl-sdk-ticket-${RUN}`;
  const ticketBody = {
    id: ticketId,
    type: "support_ticket",
    externalId: `ZD-${RUN}`,
    externalUrl: `https://support.example.com/tickets/${RUN}`,
    createdAt: new Date("2025-01-02T03:04:05.000Z"),
    tags: ["billing", "sdk-contract"],
    visibility: "public",
    properties: { priority: "high", nested: { n: 1, list: [1, "two", null, true] } },
    userProperties: {
      userId: `cust-${RUN}`,
      supportAgentName: "Ann Agent",
      userType: "customer",
      additionalProperties: { plan: "pro" },
    },
    messages: [
      { id: `${ticketId}-m1`, role: "customer", content: "My invoice is wrong", name: "Casey", externalId: "zd-comment-1" },
      { id: `${ticketId}-m2`, role: "agent", content: "Looking into it now" },
    ],
  };

  function assertTicketEcho(conv, body, what) {
    assert.equal(conv.id, body.id, `${what}.id`);
    assert.equal(conv.type, body.type, `${what}.type`);
    for (const k of ["externalId", "externalUrl", "supportTicketConversationId", "tags", "visibility", "properties"]) {
      if (k in body) assert.deepEqual(conv[k], body[k], `${what}.${k}`);
    }
    assertUserProps(conv.userProperties, body.userProperties, `${what}.userProperties`);
    if (body.createdAt instanceof Date) {
      assertTimestamp(conv.createdAt, `${what}.createdAt`);
      assert.equal(Date.parse(conv.createdAt), body.createdAt.getTime(), `${what}.createdAt (back-filled value kept)`);
    }
    assert.equal(typeof conv.projectId, "string", `${what}.projectId (from the key)`);
    assert.equal(conv.messages.length, body.messages.length, `${what}.messages.length`);
    body.messages.forEach((sent, i) => {
      const got = conv.messages[i];
      assert.equal(got.type, body.type, `${what}.messages[${i}].type`);
      assert.equal(got.conversationId, body.id, `${what}.messages[${i}].conversationId`);
      assertTimestamp(got.createdAt, `${what}.messages[${i}].createdAt`);
      assertSubset(got, sent, `${what}.messages[${i}]`);
    });
  }

  await check("conversations.log [api key] support_ticket with client ids -> fields echoed", async () => {
    const conv = await sdk.conversations.log(API, ticketBody);
    assertTicketEcho(conv, ticketBody, "ticket");
    state.ticket = conv;
  });

  await check("conversations.log [api key] support_ticket same snapshot again -> no duplicate messages", async () => {
    need(state.ticket, "support_ticket conversation");
    const conv = await sdk.conversations.log(API, ticketBody);
    assertTicketEcho(conv, ticketBody, "ticket");
  });

  await check("conversations.log [api key] support_copilot linked to ticket -> fields echoed", async () => {
    const copilotId = `tl-sdk-copilot-${RUN}`;
    const body = {
      id: copilotId,
      type: "support_copilot",
      externalId: `copilot-${RUN}`,
      supportTicketConversationId: ticketId,
      tags: ["copilot"],
      visibility: "private",
      properties: { ticketPriority: "high" },
      userProperties: { userId: `agent-${RUN}`, supportAgentName: "Ann Agent", additionalProperties: { team: "tier-2" } },
      messages: [
        { id: `${copilotId}-m1`, role: "agent", content: "Summarise this ticket" },
        { id: `${copilotId}-m2`, role: "copilot", content: "Customer reports a wrong invoice." },
        { id: `${copilotId}-m3`, role: "agent", content: null },
      ],
    };
    const conv = await sdk.conversations.log(API, body);
    assertTicketEcho(conv, body, "copilot");
  });
}

async function eventChecks() {
  const messageId = state.openai?.messages?.[1]?.id ?? `msg-unknown-${RUN}`;
  const conversationId = state.openai?.id ?? `conv-unknown-${RUN}`;
  const variants = [
    { entityType: "message", target: "messageId", value: messageId, type: "message:copied" },
    { entityType: "conversation", target: "conversationId", value: conversationId, type: "chat_share_button_clicked" },
    { entityType: "search", target: "searchQuery", value: "how to log feedback", type: "search_query_submitted" },
  ];
  for (const [keyName, security] of [["web", WEB], ["api", API]]) {
    for (const v of variants) {
      await check(`events.log [${keyName} key] entityType=${v.entityType}`, async () => {
        const body = {
          entityType: v.entityType,
          type: v.type,
          [v.target]: v.value,
          properties: { via: "sdk-contract", key: keyName },
          userProperties: { id: `u-${RUN}`, identificationType: "COOKIED", additionalProperties: {} },
        };
        const ev = await sdk.events.log(security, body);
        assert.equal(ev.entityType, v.entityType, "entityType");
        assert.equal(ev[v.target], v.value, v.target);
        assert.equal(ev.type, v.type, "type");
        assertNonEmptyString(ev.id, "id");
        assert.equal(typeof ev.projectId, "string", "projectId (from the key)");
        assert.equal(typeof ev.integrationId, "string", "integrationId (from the key)");
        assertTimestamp(ev.createdAt, "createdAt");
        assert.deepEqual(ev.properties, body.properties, "properties");
        assertUserProps(ev.userProperties, { id: `u-${RUN}`, identificationType: "COOKIED" }, "userProperties");
      });
    }
  }

  await check("events.log [api key] client-supplied id sent twice -> same event both times", async () => {
    const body = { id: `tl-sdk-evt-${RUN}`, entityType: "message", type: "answer_copied", messageId };
    const first = await sdk.events.log(API, body);
    const second = await sdk.events.log(API, body);
    assert.equal(first.id, body.id, "first response keeps the client id");
    assert.equal(first.messageId, messageId);
    assert.deepEqual(second, first, "second response equals the first");
  });
}

async function feedbackChecks() {
  const messageId = state.openai?.messages?.[1]?.id ?? `msg-unknown-${RUN}`;
  const feedbackId = `tl-sdk-fb-${RUN}`;
  const reasons = [{ label: "inaccurate", details: "The endpoint is wrong" }];

  await check("feedback.submit [api key] positive, no id -> new feedback", async () => {
    const fb = await feedbackApi.feedback.submit({ type: "positive", messageId });
    assertNonEmptyString(fb.id, "id");
    assert.equal(fb.type, "positive");
    assert.equal(fb.messageId, messageId);
    assertTimestamp(fb.createdAt, "createdAt");
  });

  await check("feedback.submit [api key] negative with client id + reasons", async () => {
    const fb = await feedbackApi.feedback.submit({
      id: feedbackId,
      type: "negative",
      messageId,
      reasons,
      properties: { widget: "sdk-contract" },
      userProperties: { id: `u-${RUN}`, identificationType: "COOKIED", additionalProperties: {} },
    });
    assert.equal(fb.id, feedbackId);
    assert.equal(fb.type, "negative");
    assert.equal(fb.messageId, messageId);
    assert.deepEqual(fb.reasons, reasons);
    assert.deepEqual(fb.properties, { widget: "sdk-contract" });
    assertUserProps(fb.userProperties, { id: `u-${RUN}`, identificationType: "COOKIED" }, "userProperties");
    assertTimestamp(fb.createdAt, "createdAt");
    state.feedbackNegative = fb;
  });

  await check("feedback.submit [api key] same id, type positive -> type flips, same id", async () => {
    need(state.feedbackNegative, "negative feedback");
    const fb = await feedbackApi.feedback.submit({ id: feedbackId, type: "positive", messageId });
    assert.equal(fb.id, feedbackId, "same id");
    assert.equal(fb.type, "positive", "type flipped");
    assert.equal(fb.messageId, messageId);
    assertTimestamp(fb.createdAt, "createdAt");
    // 0.2.4-alpha.27 does not declare `updatedAt` on this response (zod strips
    // it), but newer SDK builds (>= alpha.29) require it: check the raw wire.
    if ("updatedAt" in fb) assertTimestamp(fb.updatedAt, "updatedAt");
    const raw = JSON.parse(need(wire.last, "raw response").body);
    assertTimestamp(raw.updatedAt, "updatedAt on the wire (required by SDK >= 0.2.4-alpha.29)");
  });

  await check("feedback.submit [web key as global key] accepted", async () => {
    const fb = await feedbackWeb.feedback.submit({ type: "negative", messageId });
    assertNonEmptyString(fb.id, "id");
    assert.equal(fb.type, "negative");
    assert.equal(fb.messageId, messageId);
  });
}

async function errorChecks() {
  await check("events.log with an invalid key -> Unauthorized (401)", async () => {
    await expectError(
      sdk.events.log(BAD, { entityType: "search", type: "search", searchQuery: "x" }),
      errors.Unauthorized, 401, "unauthorized",
    );
  });

  await check("feedback.submit with an invalid global key -> Unauthorized (401)", async () => {
    await expectError(
      feedbackBadKey.feedback.submit({ type: "positive", messageId: `msg-${RUN}` }),
      errors.Unauthorized, 401, "unauthorized",
    );
  });

  await check("conversations.log with an invalid key -> Unauthorized (401)", async () => {
    await expectError(
      sdk.conversations.log(BAD, { type: "openai", messages: [{ role: "user", content: "hi" }] }),
      errors.Unauthorized, 401, "unauthorized",
    );
  });

  await check("feedback.submit type \"meh\" is refused client-side by the SDK (no request sent)", async () => {
    const before = wire.requests;
    await assert.rejects(
      feedbackApi.feedback.submit({ type: "meh", messageId: `msg-${RUN}` }),
      (e) => e instanceof errors.SDKValidationError && !(e instanceof InkeepAnalyticsError),
    );
    assert.equal(wire.requests, before, "no HTTP request was made");
  });

  await check("feedback.submit type \"meh\" (body rewritten on the wire) -> BadRequest (400)", async () => {
    wire.rewriteNextBody = (body) => ({ ...body, type: "meh" });
    await expectError(
      feedbackApi.feedback.submit({ type: "positive", messageId: `msg-${RUN}` }),
      errors.BadRequest, 400, "bad_request",
    );
  });

  await check("conversations.log with messages: [] -> BadRequest (400)", async () => {
    // The SDK does not enforce minItems 1 client-side; the server must.
    await expectError(
      sdk.conversations.log(API, { type: "openai", messages: [] }),
      errors.BadRequest, 400, "bad_request",
    );
  });

  await check("events.log with id \"\" (minLength 1) -> BadRequest (400)", async () => {
    // The SDK does not enforce minLength client-side; the server must.
    await expectError(
      sdk.events.log(WEB, { id: "", entityType: "search", type: "search", searchQuery: "x" }),
      errors.BadRequest, 400, "bad_request",
    );
  });
}

try {
  await conversationChecks();
  await eventChecks();
  await feedbackChecks();
  await errorChecks();
} catch (e) {
  failed += 1;
  console.log(`FAIL unexpected error outside a check\n    ${describe(e)}`);
}
clearTimeout(overallTimer);
finish(failed === 0 ? 0 : 1);
