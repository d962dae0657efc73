// Contract check: drive the QUERY, EXPORT, PROPERTY and SEARCH-STATISTICS calls of the official
// `@inkeep/inkeep-analytics` SDK (pinned in package.json) against a running threadline server.
//
// Known data is written first through the SDK (conversations.log, events.log, feedback.submit,
// all with back-filled createdAt Dates), then every query operation the pinned SDK has (ops 11,
// 13, 15, 17, 18, 19, 20, 21, 22) is called and its answer compared with what was written. The
// SDK parses every response with strict zod schemas, so a shape difference makes the call throw
// (ResponseValidationError) and the check fail. The three exports alpha.27 lacks (ops 12, 14,
// 16) are called with plain fetch and their CSV parsed with an RFC 4180 parser.
// Same conventions as write_calls.mjs: one line per check, last line "<n> passed, <m> failed".
//
// The keys must belong to a project with no data yet (the pytest wrapper starts every test on
// an empty database): the expected counts are exact.
//
// Env: THREADLINE_URL, THREADLINE_WEB_KEY, THREADLINE_API_KEY (keys of one project),
//      optional THREADLINE_SDK_TIMEOUT_MS (default 60000).

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
// HTTP plumbing (as in write_calls.mjs): one HTTPClient records the last raw
// response (for diagnostics and for checks of the wire keys the SDK renames)
// and can rewrite the next request body after the SDK's own validation.
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
  const contentType = res.headers.get("content-type") || "";
  wire.last = {
    method: req.method,
    url: req.url,
    status: res.status,
    contentType,
    // A CSV body is the SDK's stream to hand out: leave it alone.
    body: contentType.startsWith("text/csv")
      ? "<csv stream>"
      : await res.clone().text().catch(() => "<unreadable>"),
  };
});

const common = {
  serverURL: BASE_URL,
  httpClient,
  retryConfig: { strategy: "none" }, // the SDK default retries 5XX/429 for up to 1 h
  timeoutMs: 15000,
};
// Query operations use the global security option `apiIntegrationKey`.
const sdk = new InkeepAnalytics({ ...common, apiIntegrationKey: API_KEY });
const asWeb = new InkeepAnalytics({ ...common, apiIntegrationKey: WEB_KEY });
const asBadKey = new InkeepAnalytics({ ...common, apiIntegrationKey: "tl_invalid_key_for_sdk_contract" });
const API = { apiIntegrationKey: API_KEY };

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

// The raw JSON of the last response: the wire keys (`createdAt_day`, `count_id`, ...) before
// the SDK renames them to camelCase.
function wireJson() {
  assert.ok(wire.last, "no response recorded");
  return JSON.parse(wire.last.body);
}

// The query envelope (reference §7.7): status ok, and counts that add up.
function assertEnvelope(response, rows, what) {
  assert.equal(response.status, "ok", `${what}: status`);
  const { data } = response;
  assert.equal(data.result.length, rows, `${what}: result.length`);
  assert.equal(data.count, rows, `${what}: count = rows in this response`);
  assert.equal(data.total, rows, `${what}: total (everything fits one page)`);
  assert.ok(Number.isInteger(data.pageSize) && data.pageSize >= rows, `${what}: pageSize ${data.pageSize}`);
  return data.result;
}

// Rows as the SDK hands them back, without the `additionalProperties` bag when it is empty.
function plain(rows) {
  return rows.map((row) => {
    const { additionalProperties, ...rest } = row;
    return additionalProperties && Object.keys(additionalProperties).length
      ? { ...rest, additionalProperties }
      : rest;
  });
}

// RFC 4180: fields separated by commas, records by CRLF (a bare LF is tolerated), a field in
// double quotes may hold commas, quotes (doubled) and line breaks. Strict: a quote inside an
// unquoted field or text after a closing quote is an error.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  const endField = () => {
    row.push(field);
    field = "";
    fieldStarted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        const next = text[i];
        if (next !== undefined && next !== "," && next !== "\r" && next !== "\n") {
          throw new Error(`CSV: text after a closing quote at offset ${i}`);
        }
        continue;
      }
      field += ch;
      i += 1;
      continue;
    }
    if (ch === '"') {
      if (fieldStarted || field.length) throw new Error(`CSV: quote inside an unquoted field at offset ${i}`);
      quoted = true;
      fieldStarted = true;
      i += 1;
    } else if (ch === ",") {
      endField();
      i += 1;
    } else if (ch === "\r" && text[i + 1] === "\n") {
      endRow();
      i += 2;
    } else if (ch === "\n") {
      endRow();
      i += 1;
    } else {
      field += ch;
      fieldStarted = true;
      i += 1;
    }
  }
  if (quoted) throw new Error("CSV: unterminated quoted field");
  if (field.length || fieldStarted || row.length) endRow(); // last record without a line break
  return rows;
}

async function readStream(stream) {
  assert.ok(stream instanceof ReadableStream, `expected a ReadableStream, got ${Object.prototype.toString.call(stream)}`);
  const reader = stream.getReader();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

// POST an export the pinned SDK lacks, as the SDK would send it (Accept: text/csv).
async function exportCsv(path, body) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${API_KEY}`,
      "Content-Type": "application/json",
      Accept: "text/csv",
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await response.text();
  wire.last = {
    method: "POST",
    url: response.url,
    status: response.status,
    contentType: response.headers.get("content-type") || "",
    body: text,
  };
  assert.equal(response.status, 200, "HTTP status");
  const contentType = response.headers.get("content-type") || "";
  assert.match(contentType, /^text\/csv(;|$)/, "content-type");
  assert.match(response.headers.get("content-disposition") || "", /^attachment/, "content-disposition");
  assert.ok(text.endsWith("\r\n"), "the last record ends with CRLF");
  return parseCsv(text);
}

// ---------------------------------------------------------------------------
// the data: three conversations, 14 events, three feedback records
// ---------------------------------------------------------------------------
const at = (iso) => new Date(iso);
// A property value that needs every kind of CSV escaping: a comma, quotes, a line break.
const NOTE = 'He said "hi", then\nleft';
const REASON_DETAILS = 'Says "run it", but it fails';
const noUser = undefined;
const user = (userId, extra = {}) => ({ userId, ...extra, additionalProperties: {} });

const CONVERSATIONS = [
  {
    id: "q-c1",
    type: "openai",
    createdAt: at("2026-02-01T08:00:00.000Z"),
    properties: { plan: "pro", note: NOTE },
    userProperties: user("u1"),
    messages: [
      { id: "q-m1", role: "user", content: "How do I install?", createdAt: at("2026-02-01T08:00:00.000Z") },
      { id: "q-m2", role: "assistant", content: "Run the installer.", createdAt: at("2026-02-01T08:00:05.000Z") },
      { id: "q-m3", role: "user", content: "Thanks, and pricing?", createdAt: at("2026-02-01T08:01:00.000Z") },
    ],
  },
  {
    id: "q-c2",
    type: "openai",
    createdAt: at("2026-02-02T09:00:00.000Z"),
    properties: { plan: "free" },
    userProperties: user("u2"),
    messages: [
      { id: "q-m4", role: "user", content: "Where are the API keys?", createdAt: at("2026-02-02T09:00:00.000Z") },
      { id: "q-m5", role: "assistant", content: "Under Settings.", createdAt: at("2026-02-02T09:00:05.000Z") },
    ],
  },
  {
    id: "q-c3",
    type: "support_ticket",
    createdAt: at("2026-02-03T10:00:00.000Z"),
    properties: { plan: "pro", priority: "high" },
    userProperties: user("u1", { supportAgentName: "Ann" }),
    messages: [
      { id: "q-s1", role: "customer", content: "My invoice is wrong", createdAt: at("2026-02-03T10:00:00.000Z") },
      { id: "q-s2", role: "agent", content: "Looking into it", createdAt: at("2026-02-03T10:05:00.000Z") },
    ],
  },
];

const messageEvent = (id, type, messageId, iso, userId, properties = { widget: "docs" }) => ({
  id, entityType: "message", type, messageId, createdAt: at(iso), properties, userProperties: user(userId),
});
const searchEvent = (id, searchQuery, iso, userId) => ({
  id,
  entityType: "search",
  type: "search_query_submitted",
  searchQuery,
  createdAt: at(iso),
  properties: { source: "searchbar" },
  ...(userId ? { userProperties: user(userId) } : {}),
});
const EVENTS = [
  // Before the worked example's window (createdAt >= 2026-02-01).
  messageEvent("q-e1", "message:copied", "q-m2", "2026-01-31T23:00:00.000Z", "u1"),
  messageEvent("q-e2", "message:copied", "q-m2", "2026-02-01T10:00:00.000Z", "u1",
    { widget: "docs", rank: 2, flags: { beta: true } }),
  messageEvent("q-e3", "message:copied", "q-m2", "2026-02-01T11:00:00.000Z", "u2"),
  messageEvent("q-e4", "message:copied", "q-m2", "2026-02-01T23:59:59.999Z", "u1"),
  messageEvent("q-e5", "message:copied", "q-m5", "2026-02-02T00:00:00.000Z", "u2"),
  messageEvent("q-e6", "message:copied", "q-m5", "2026-02-02T12:00:00.000Z", "u2"),
  // A type outside the worked example's `in` list.
  messageEvent("q-e7", "message:link_opened", "q-m2", "2026-02-01T12:00:00.000Z", "u1"),
  {
    id: "q-e8",
    entityType: "conversation",
    type: "chat_share_button_clicked",
    conversationId: "q-c1",
    createdAt: at("2026-02-02T13:00:00.000Z"),
    properties: { channel: "slack" },
    userProperties: user("u1"),
  },
  // Searches over two ISO weeks: Monday 2026-01-26 and Monday 2026-02-02.
  searchEvent("q-s-1", "how to install", "2026-01-27T10:00:00.000Z", "u1"),
  searchEvent("q-s-2", "how to install", "2026-01-28T10:00:00.000Z", "u2"),
  searchEvent("q-s-3", "pricing", "2026-01-28T11:00:00.000Z", "u1"),
  searchEvent("q-s-4", "how to install", "2026-02-03T10:00:00.000Z", "u3"),
  searchEvent("q-s-5", "pricing", "2026-02-04T10:00:00.000Z", noUser),
  searchEvent("q-s-6", "api keys", "2026-02-04T12:00:00.000Z", "u3"),
];

const FEEDBACK = [
  { id: "q-fb1", type: "positive", messageId: "q-m2", createdAt: at("2026-02-01T10:00:00.000Z"), userProperties: user("u1") },
  { id: "q-fb2", type: "positive", messageId: "q-m5", createdAt: at("2026-02-02T10:00:00.000Z") },
  {
    id: "q-fb3",
    type: "negative",
    messageId: "q-m2",
    createdAt: at("2026-02-02T11:00:00.000Z"),
    reasons: [{ label: "inaccurate", details: REASON_DETAILS }],
    properties: { page: "/docs/install" },
  },
];

async function writeData() {
  await check(`write ${CONVERSATIONS.length} conversations, ${EVENTS.length} events, ${FEEDBACK.length} feedback through the SDK`, async () => {
    for (const body of CONVERSATIONS) {
      const conv = await sdk.conversations.log(API, body);
      assert.equal(conv.id, body.id);
      assert.equal(conv.messages.length, body.messages.length, `${body.id}: messages`);
    }
    for (const body of EVENTS) {
      const event = await sdk.events.log(API, body);
      assert.equal(event.id, body.id);
      assert.equal(Date.parse(event.createdAt), body.createdAt.getTime(), `${body.id}: back-filled createdAt kept`);
    }
    for (const body of FEEDBACK) {
      const fb = await sdk.feedback.submit(body);
      assert.equal(fb.id, body.id);
      assert.equal(Date.parse(fb.createdAt), body.createdAt.getTime(), `${body.id}: back-filled createdAt kept`);
    }
  });
}

// ---------------------------------------------------------------------------
// op 13: events
// ---------------------------------------------------------------------------
async function eventQueries() {
  await check("query.queryEvents {} -> every event with every field, SDK-valid", async () => {
    const rows = assertEnvelope(await sdk.query.queryEvents({}), EVENTS.length, "events");
    assert.deepEqual(rows.map((r) => r.id).sort(), EVENTS.map((e) => e.id).sort(), "ids");
    // Default order: newest first.
    const times = rows.map((r) => Date.parse(r.createdAt));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), "newest first");
    for (const row of rows) {
      assert.equal(typeof row.organizationId, "string", `${row.id}.organizationId`);
      assert.equal(typeof row.projectId, "string", `${row.id}.projectId`);
    }
  });

  await check("query.queryEvents one event reads back as written (JSON values as strings)", async () => {
    const response = await sdk.query.queryEvents({
      select: ["id", "eventType", "type", "messageId", "conversationId", "createdAt", "properties", "userProperties"]
        .map((field) => ({ type: "field", field })),
      where: { condition: { field: "id", operator: "eq", value: "q-e2" } },
    });
    const [row] = assertEnvelope(response, 1, "q-e2");
    assert.deepEqual(plain([row])[0], {
      id: "q-e2",
      eventType: "message",
      type: "message:copied",
      messageId: "q-m2",
      conversationId: "q-c1", // the message's conversation
      createdAt: "2026-02-01T10:00:00.000Z",
      // Events' properties are typed {string: string} by the SDK (reference §7.9).
      properties: { widget: "docs", rank: "2", flags: '{"beta":true}' },
      userProperties: { userId: "u1" },
    });
  });

  await check("query.queryEvents §7.11 worked example (events per day and type) -> exact rows", async () => {
    const response = await sdk.query.queryEvents({
      select: [
        { type: "time", timeUnit: "day", field: "createdAt" },
        { type: "field", field: "type" },
        { type: "aggregation", aggregation: "count" },
      ],
      groupBy: [{ field: "type" }],
      where: {
        and: [
          { condition: { field: "type", operator: "in", value: ["message:copied", "chat_share_button_clicked"] } },
          { condition: { field: "createdAt", operator: "gte", value: "2026-02-01T00:00:00Z" } },
        ],
      },
      orderBy: [{ field: "createdAt_day", direction: "asc" }],
      notes: "Count of events by type",
    });
    const rows = assertEnvelope(response, 3, "events per day and type");
    const days = rows.map((r) => r.createdAtDay);
    assert.deepEqual(days, [...days].sort(), "ordered by createdAt_day ascending");
    // Within a day the order is not specified by the request.
    const byDayAndType = (a, b) => (a.createdAt_day + a.type).localeCompare(b.createdAt_day + b.type);
    assert.deepEqual([...wireJson().data.result].sort(byDayAndType), [
      { createdAt_day: "2026-02-01T00:00:00.000Z", type: "message:copied", count: 3 },
      { createdAt_day: "2026-02-02T00:00:00.000Z", type: "chat_share_button_clicked", count: 1 },
      { createdAt_day: "2026-02-02T00:00:00.000Z", type: "message:copied", count: 2 },
    ], "wire rows");
    assert.deepEqual(plain(rows).map((r) => [r.createdAtDay, r.type, r.count]).sort(), [
      ["2026-02-01T00:00:00.000Z", "message:copied", 3],
      ["2026-02-02T00:00:00.000Z", "chat_share_button_clicked", 1],
      ["2026-02-02T00:00:00.000Z", "message:copied", 2],
    ], "SDK rows (createdAt_day -> createdAtDay)");
  });

  await check("query.queryEvents count and countDistinct userProperties.userId per eventType", async () => {
    const response = await sdk.query.queryEvents({
      select: [
        { type: "field", field: "eventType" },
        { type: "aggregation", aggregation: "count", field: "id" },
        { type: "aggregation", aggregation: "countDistinct", field: "userProperties", path: ["userId"] },
      ],
      groupBy: [{ field: "eventType" }],
      orderBy: [{ field: "count_id", direction: "desc" }],
    });
    const rows = assertEnvelope(response, 3, "per eventType");
    assert.deepEqual(plain(rows).map((r) => [r.eventType, r.countId, r.countDistinctUserPropertiesUserId]), [
      ["message", 7, 2],
      ["search", 6, 3], // u1, u2, u3; the anonymous search is no one's
      ["conversation", 1, 1],
    ]);
    assert.deepEqual(Object.keys(wireJson().data.result[0]), ["eventType", "count_id", "countDistinct_userProperties.userId"], "wire keys");
    const sum = rows.reduce((n, r) => n + r.countId, 0);
    assert.equal(sum, EVENTS.length, "counts add up to every event");
  });

  await check("query.queryEvents countDistinct userProperties.userId over all events (no groups) -> one row", async () => {
    const response = await sdk.query.queryEvents({
      select: [{ type: "aggregation", aggregation: "countDistinct", field: "userProperties", path: ["userId"] }],
    });
    const [row] = assertEnvelope(response, 1, "countDistinct");
    assert.equal(row.countDistinctUserPropertiesUserId, 3);
  });

  await check("query.queryEvents message events per conversationId (joined through the message)", async () => {
    const response = await sdk.query.queryEvents({
      select: [{ type: "aggregation", aggregation: "count" }],
      groupBy: [{ field: "conversationId" }],
      where: { condition: { field: "eventType", operator: "eq", value: "message" } },
      orderBy: [{ field: "conversationId", direction: "asc" }],
    });
    const rows = assertEnvelope(response, 2, "per conversation");
    assert.deepEqual(plain(rows), [
      { count: 5, conversationId: "q-c1" },
      { count: 2, conversationId: "q-c2" },
    ]);
  });

  await check("query.queryEvents JSON-path filter userProperties.userId in [u3] and a path selection", async () => {
    const response = await sdk.query.queryEvents({
      select: [
        { type: "field", field: "id" },
        { type: "field", field: "searchQuery" },
        { type: "field", field: "userProperties", path: ["userId"] },
      ],
      where: { condition: { field: "userProperties", operator: "in", value: { path: ["userId"], value: ["u3"] } } },
      orderBy: [{ field: "createdAt", direction: "asc" }],
    });
    const rows = assertEnvelope(response, 2, "u3's events");
    assert.deepEqual(plain(rows), [
      { id: "q-s-4", searchQuery: "how to install", userPropertiesUserId: "u3" },
      { id: "q-s-6", searchQuery: "api keys", userPropertiesUserId: "u3" },
    ]);
    assert.equal(wireJson().data.result[0]["userProperties.userId"], "u3", "wire key userProperties.userId");
  });

  await check("query.queryEvents jsonHasKey + properties eq {path, value} (number)", async () => {
    const response = await sdk.query.queryEvents({
      select: [{ type: "field", field: "id" }],
      where: {
        or: [
          { condition: { field: "properties", operator: "jsonHasKey", value: "channel" } },
          { condition: { field: "properties", operator: "eq", value: { path: ["rank"], value: 2 } } },
        ],
      },
      orderBy: [{ field: "id", direction: "asc" }],
    });
    assert.deepEqual(assertEnvelope(response, 2, "filtered").map((r) => r.id), ["q-e2", "q-e8"]);
  });
}

// ---------------------------------------------------------------------------
// op 11: conversations
// ---------------------------------------------------------------------------
async function conversationQueries() {
  await check("query.conversations {} -> every conversation with every field, as written", async () => {
    const rows = assertEnvelope(await sdk.query.conversations({}), 3, "conversations");
    const byId = Object.fromEntries(plain(rows).map((r) => [r.id, r]));
    for (const sent of CONVERSATIONS) {
      const row = byId[sent.id];
      assert.ok(row, `${sent.id} listed`);
      assert.equal(row.type, sent.type, `${sent.id}.type`);
      assert.deepEqual(row.properties, sent.properties, `${sent.id}.properties`);
      assert.equal(row.userProperties?.userId, sent.userProperties.userId, `${sent.id}.userProperties.userId`);
      // The SDK parses firstMessageTime strictly (offset required) into a Date.
      assert.ok(row.firstMessageTime instanceof Date, `${sent.id}.firstMessageTime is a Date`);
      assert.equal(row.firstMessageTime.getTime(), sent.messages[0].createdAt.getTime(), `${sent.id}.firstMessageTime`);
      const users = sent.messages.filter((m) => m.role === "user").length;
      assert.equal(row.userMessageCount, users, `${sent.id}.userMessageCount`);
      assert.equal(typeof row.projectId, "string", `${sent.id}.projectId`);
    }
    assert.equal(byId["q-c3"].userProperties.supportAgentName, "Ann");
  });

  await check("query.conversations by type: count and sum of userMessageCount", async () => {
    const response = await sdk.query.conversations({
      select: [
        { type: "field", field: "type" },
        { type: "aggregation", aggregation: "count", field: "id" },
        { type: "aggregation", aggregation: "sum", field: "userMessageCount" },
      ],
      groupBy: [{ field: "type" }],
      orderBy: [{ field: "type", direction: "asc" }],
      notes: "Count of conversations by type",
    });
    const rows = assertEnvelope(response, 2, "by type");
    assert.deepEqual(plain(rows), [
      { type: "openai", countId: 2, sumUserMessageCount: 3 },
      { type: "support_ticket", countId: 1, sumUserMessageCount: 0 },
    ]);
    assert.deepEqual(wireJson().data.result[0], { type: "openai", count_id: 2, sum_userMessageCount: 3 }, "wire row");
  });

  await check("query.conversations JSON-path filter properties.plan = pro, path selections", async () => {
    const response = await sdk.query.conversations({
      select: [
        { type: "field", field: "id" },
        { type: "field", field: "properties", path: ["plan"] },
        { type: "field", field: "userProperties", path: ["userId"] },
      ],
      where: { condition: { field: "properties", operator: "eq", value: { path: ["plan"], value: "pro" } } },
      orderBy: [{ field: "id", direction: "asc" }],
    });
    const rows = assertEnvelope(response, 2, "plan pro");
    // `properties.plan` is not a declared key: the SDK puts it in additionalProperties.
    assert.deepEqual(plain(rows), [
      { id: "q-c1", userPropertiesUserId: "u1", additionalProperties: { "properties.plan": "pro" } },
      { id: "q-c3", userPropertiesUserId: "u1", additionalProperties: { "properties.plan": "pro" } },
    ]);
  });

  await check("query.conversations per firstMessageTime week, countDistinct userProperties.userId", async () => {
    const response = await sdk.query.conversations({
      select: [
        { type: "time", timeUnit: "week", field: "firstMessageTime" },
        { type: "aggregation", aggregation: "count" },
        { type: "aggregation", aggregation: "countDistinct", field: "userProperties", path: ["userId"] },
      ],
      orderBy: [{ field: "firstMessageTime_week", direction: "asc" }],
    });
    const rows = assertEnvelope(response, 2, "per week");
    assert.deepEqual(plain(rows), [
      // Sunday 2026-02-01 belongs to the ISO week of Monday 2026-01-26.
      { firstMessageTimeWeek: "2026-01-26T00:00:00.000Z", count: 1, countDistinctUserPropertiesUserId: 1 },
      { firstMessageTimeWeek: "2026-02-02T00:00:00.000Z", count: 2, countDistinctUserPropertiesUserId: 2 },
    ]);
  });

  await check("query.conversations where firstMessageTime >= date and type in [...] -> ids", async () => {
    const response = await sdk.query.conversations({
      select: [{ type: "field", field: "id" }],
      where: {
        and: [
          { condition: { field: "firstMessageTime", operator: "gte", value: "2026-02-02T00:00:00Z" } },
          { condition: { field: "type", operator: "in", value: ["openai", "support_copilot"] } },
        ],
      },
    });
    assert.deepEqual(assertEnvelope(response, 1, "filtered").map((r) => r.id), ["q-c2"]);
  });
}

// ---------------------------------------------------------------------------
// op 15: feedback
// ---------------------------------------------------------------------------
async function feedbackQueries() {
  await check("query.queryFeedback rows read back as written (conversationId joined)", async () => {
    const response = await sdk.query.queryFeedback({
      select: ["id", "type", "messageId", "conversationId", "createdAt", "reasons", "properties"]
        .map((field) => ({ type: "field", field })),
      orderBy: [{ field: "createdAt", direction: "asc" }],
    });
    const rows = assertEnvelope(response, 3, "feedback");
    assert.deepEqual(plain(rows), [
      { id: "q-fb1", type: "positive", messageId: "q-m2", conversationId: "q-c1", createdAt: "2026-02-01T10:00:00.000Z", reasons: null, properties: null },
      { id: "q-fb2", type: "positive", messageId: "q-m5", conversationId: "q-c2", createdAt: "2026-02-02T10:00:00.000Z", reasons: null, properties: null },
      {
        id: "q-fb3", type: "negative", messageId: "q-m2", conversationId: "q-c1", createdAt: "2026-02-02T11:00:00.000Z",
        reasons: [{ label: "inaccurate", details: REASON_DETAILS }], properties: { page: "/docs/install" },
      },
    ]);
  });

  await check("query.queryFeedback count by type (most first)", async () => {
    const response = await sdk.query.queryFeedback({
      select: [{ type: "aggregation", aggregation: "count", field: "id" }],
      groupBy: [{ field: "type" }],
      orderBy: [{ field: "count_id", direction: "desc" }],
      notes: "Count of feedback by type",
    });
    const rows = assertEnvelope(response, 2, "by type");
    assert.deepEqual(plain(rows), [
      { countId: 2, type: "positive" },
      { countId: 1, type: "negative" },
    ]);
  });

  await check("query.queryFeedback per conversation and day; reasons jsonContains", async () => {
    const perDay = await sdk.query.queryFeedback({
      select: [
        { type: "time", timeUnit: "day" }, // no field: createdAt
        { type: "field", field: "conversationId" },
        { type: "aggregation", aggregation: "count" },
      ],
      orderBy: [{ field: "createdAt_day", direction: "asc" }, { field: "conversationId", direction: "asc" }],
    });
    assert.deepEqual(plain(assertEnvelope(perDay, 3, "per day")), [
      { createdAtDay: "2026-02-01T00:00:00.000Z", conversationId: "q-c1", count: 1 },
      { createdAtDay: "2026-02-02T00:00:00.000Z", conversationId: "q-c1", count: 1 },
      { createdAtDay: "2026-02-02T00:00:00.000Z", conversationId: "q-c2", count: 1 },
    ]);
    const inaccurate = await sdk.query.queryFeedback({
      select: [{ type: "field", field: "id" }],
      where: { condition: { field: "reasons", operator: "jsonContains", value: [{ label: "inaccurate" }] } },
    });
    assert.deepEqual(assertEnvelope(inaccurate, 1, "reasons").map((r) => r.id), ["q-fb3"]);
  });
}

// ---------------------------------------------------------------------------
// ops 17, 18: semantic threads (nothing writes them yet: the view is empty)
// ---------------------------------------------------------------------------
const SEMANTIC_THREAD_FIELDS = [
  "id", "messageIds", "messagesCount", "organizationId", "question", "questionLength", "answer",
  "isOnTopic", "isClear", "isDocumented", "isFeatureSupported", "isAnswerConfident", "gapSummary",
  "subject", "category", "questionType", "languages", "firstPartyEntities", "thirdPartyEntities",
  "emotion", "sentiment", "projectId", "integrationId", "properties", "userProperties",
  "firstMessageTime", "lastMessageTime", "lastUpdated", "hasPositiveFeedback", "hasNegativeFeedback",
  "conversationIds", "areAIAnnotationsVerified", "isInitialQuestionAnswer",
];

async function semanticThreadQueries() {
  await check("query.querySemanticThreads {} and with `query` text -> empty result", async () => {
    assertEnvelope(await sdk.query.querySemanticThreads({}), 0, "all");
    assertEnvelope(await sdk.query.querySemanticThreads({
      query: "install",
      select: [{ type: "field", field: "question" }],
      where: { condition: { field: "hasNegativeFeedback", operator: "eq", value: true } },
    }), 0, "searched");
  });

  await check("query.querySemanticThreads count without groups -> one row, count 0", async () => {
    const response = await sdk.query.querySemanticThreads({
      select: [{ type: "aggregation", aggregation: "count" }],
    });
    assert.deepEqual(plain(assertEnvelope(response, 1, "count")), [{ count: 0 }]);
  });

  await check("query.exportSemanticThreadsQueryResults {} -> CSV stream, header of the 33 fields", async () => {
    const stream = await sdk.query.exportSemanticThreadsQueryResults({});
    assert.match(need(wire.last, "response").contentType, /^text\/csv/, "content-type");
    const text = await readStream(stream);
    assert.deepEqual(parseCsv(text), [SEMANTIC_THREAD_FIELDS], `CSV ${JSON.stringify(text)}`);
    assert.ok(text.endsWith("\r\n"), "header ends with CRLF");
  });

  await check("query.exportSemanticThreadsQueryResults with select -> header in select order", async () => {
    const stream = await sdk.query.exportSemanticThreadsQueryResults({
      select: [
        { type: "field", field: "question" },
        { type: "time", timeUnit: "month", field: "lastUpdated" },
        { type: "aggregation", aggregation: "count", field: "id" },
      ],
    });
    const text = await readStream(stream);
    // Grouped by question and the bucket, and there are no threads: the header alone.
    assert.deepEqual(parseCsv(text), [["question", "lastUpdated_month", "count_id"]], `CSV ${JSON.stringify(text)}`);
  });
}

function need(value, what) {
  if (value === undefined || value === null) throw new Error(`prerequisite missing (${what})`);
  return value;
}

// ---------------------------------------------------------------------------
// ops 19, 20: property keys and values
// ---------------------------------------------------------------------------
async function propertyQueries() {
  await check("query.queryPropertyKeys properties (all views) -> every key written", async () => {
    const response = await sdk.query.queryPropertyKeys({ field: "properties" });
    assert.deepEqual(response.results,
      ["channel", "flags", "note", "page", "plan", "priority", "rank", "source", "widget"]);
  });

  await check("query.queryPropertyKeys userProperties / views / where", async () => {
    const userKeys = await sdk.query.queryPropertyKeys({ field: "userProperties" });
    assert.deepEqual(userKeys.results, ["supportAgentName", "userId"], "userProperties");
    const events = await sdk.query.queryPropertyKeys({ field: "properties", views: ["events_view"] });
    assert.deepEqual(events.results, ["channel", "flags", "rank", "source", "widget"], "events_view");
    const tickets = await sdk.query.queryPropertyKeys({
      field: "properties",
      views: ["conversations_view"],
      where: { condition: { field: "type", operator: "eq", value: "support_ticket" } },
    });
    assert.deepEqual(tickets.results, ["plan", "priority"], "support tickets");
  });

  await check("query.queryPropertyValues most frequent first; a value with comma, quote, newline", async () => {
    const plan = await sdk.query.queryPropertyValues({ field: "properties", key: "plan" });
    assert.deepEqual(plan.results, ["pro", "free"], "plan");
    const note = await sdk.query.queryPropertyValues({ field: "properties", key: "note", views: ["conversations_view"] });
    assert.deepEqual(note.results, [NOTE], "note");
    const rank = await sdk.query.queryPropertyValues({ field: "properties", key: "rank", views: ["events_view"] });
    assert.deepEqual(rank.results, ["2"], "a number, as text");
  });

  await check("query.queryPropertyValues userProperties.userId over events, limit", async () => {
    const all = await sdk.query.queryPropertyValues({ field: "userProperties", key: "userId", views: ["events_view"] });
    assert.deepEqual(all.results, ["u1", "u2", "u3"], "u1: 6 events, u2: 4, u3: 2");
    const two = await sdk.query.queryPropertyValues({ field: "userProperties", key: "userId", views: ["events_view"], limit: 2 });
    assert.deepEqual(two.results, ["u1", "u2"], "limit 2");
    const none = await sdk.query.queryPropertyValues({ field: "properties", key: "nope" });
    assert.deepEqual(none.results, [], "unknown key");
  });
}

// ---------------------------------------------------------------------------
// ops 21, 22: search statistics
// ---------------------------------------------------------------------------
async function searchStatistics() {
  await check("topSearchQueries {} -> counts (strings), most searched first", async () => {
    const response = await sdk.topSearchQueries({});
    assert.deepEqual(response, {
      data: {
        result: [
          { searchQuery: "how to install", count: "3" },
          { searchQuery: "pricing", count: "2" },
          { searchQuery: "api keys", count: "1" },
        ],
        total: 3,
      },
    });
    assert.deepEqual(wireJson().data.result[0], { search_query: "how to install", count: "3" }, "wire keys");
  });

  await check("topSearchQueries {after, projectId} -> only later searches; ties by text", async () => {
    const response = await sdk.topSearchQueries({ after: "2026-02-02", projectId: "another-project" });
    assert.match(need(wire.last, "response").url, /[?&]project_id=another-project/, "project_id on the wire");
    assert.deepEqual(response.data, {
      result: [
        { searchQuery: "api keys", count: "1" },
        { searchQuery: "how to install", count: "1" },
        { searchQuery: "pricing", count: "1" },
      ],
      total: 3,
    });
  });

  await check("weeklySearchUsers {} -> unique users per Monday week (strings)", async () => {
    const response = await sdk.weeklySearchUsers({});
    assert.deepEqual(response, {
      data: {
        result: [
          { week: "2026-01-26", uniqueUsers: "2" }, // u1, u2
          { week: "2026-02-02", uniqueUsers: "1" }, // u3; the anonymous search is no one's
        ],
        total: 2,
      },
    });
    assert.deepEqual(wireJson().data.result[0], { week: "2026-01-26", unique_users: "2" }, "wire keys");
  });

  await check("weeklySearchUsers {after: date-time} -> from that instant on", async () => {
    const response = await sdk.weeklySearchUsers({ after: "2026-01-28T10:30:00Z" });
    assert.deepEqual(response.data, {
      result: [
        { week: "2026-01-26", uniqueUsers: "1" }, // only u1's "pricing" at 11:00
        { week: "2026-02-02", uniqueUsers: "1" },
      ],
      total: 2,
    });
  });
}

// ---------------------------------------------------------------------------
// ops 12, 14, 16: the exports alpha.27 lacks, over plain HTTP
// ---------------------------------------------------------------------------
async function csvExports() {
  await check("POST /query/conversations/export (no SDK call in alpha.27) -> CSV, properties unpacked, escaping round-trips", async () => {
    const rows = await exportCsv("/query/conversations/export", {
      select: [{ type: "field", field: "id" }, { type: "field", field: "type" }, { type: "field", field: "properties" }],
      orderBy: [{ field: "id", direction: "asc" }],
    });
    assert.deepEqual(rows[0], ["id", "type", "properties.note", "properties.plan", "properties.priority"], "header");
    assert.equal(rows.length, 1 + 3, "header + one row per conversation");
    assert.deepEqual(rows.slice(1), [
      ["q-c1", "openai", NOTE, "pro", ""],
      ["q-c2", "openai", "", "free", ""],
      ["q-c3", "support_ticket", "", "pro", "high"],
    ]);
  });

  await check("POST /query/conversations/export mode json -> one JSON column", async () => {
    const rows = await exportCsv("/query/conversations/export", {
      select: [{ type: "field", field: "id" }, { type: "field", field: "properties", mode: "json" }],
      where: { condition: { field: "id", operator: "eq", value: "q-c1" } },
    });
    assert.deepEqual(rows[0], ["id", "properties"], "header");
    assert.equal(rows.length, 2);
    assert.deepEqual(JSON.parse(rows[1][1]), CONVERSATIONS[0].properties, "JSON cell");
  });

  await check("POST /query/events/export (no SDK call in alpha.27) -> CSV of the search events", async () => {
    const rows = await exportCsv("/query/events/export", {
      select: [{ type: "field", field: "id" }, { type: "field", field: "searchQuery" }, { type: "field", field: "createdAt" }],
      where: { condition: { field: "eventType", operator: "eq", value: "search" } },
      orderBy: [{ field: "createdAt", direction: "asc" }],
    });
    assert.deepEqual(rows[0], ["id", "searchQuery", "createdAt"], "header");
    const searches = EVENTS.filter((e) => e.entityType === "search");
    assert.equal(rows.length, 1 + searches.length, "header + one row per search");
    assert.deepEqual(rows.slice(1), searches.map((e) => [e.id, e.searchQuery, e.createdAt.toISOString()]));
  });

  await check("POST /query/events/export grouped -> counts per day", async () => {
    const rows = await exportCsv("/query/events/export", {
      select: [{ type: "time", timeUnit: "day", field: "createdAt" }, { type: "aggregation", aggregation: "count" }],
      where: { condition: { field: "eventType", operator: "eq", value: "message" } },
      orderBy: [{ field: "createdAt_day", direction: "asc" }],
    });
    assert.deepEqual(rows, [
      ["createdAt_day", "count"],
      ["2026-01-31T00:00:00.000Z", "1"],
      ["2026-02-01T00:00:00.000Z", "4"],
      ["2026-02-02T00:00:00.000Z", "2"],
    ]);
  });

  await check("POST /query/feedback/export (no SDK call in alpha.27) -> CSV, reasons as JSON with quotes", async () => {
    const rows = await exportCsv("/query/feedback/export", {
      select: ["id", "type", "conversationId", "reasons"].map((field) => ({ type: "field", field })),
      orderBy: [{ field: "id", direction: "asc" }],
    });
    assert.deepEqual(rows[0], ["id", "type", "conversationId", "reasons"], "header");
    assert.equal(rows.length, 1 + FEEDBACK.length, "header + one row per feedback");
    assert.deepEqual(rows.slice(1).map((r) => r.slice(0, 3)), [
      ["q-fb1", "positive", "q-c1"],
      ["q-fb2", "positive", "q-c2"],
      ["q-fb3", "negative", "q-c1"],
    ]);
    assert.equal(rows[1][3], "", "no reasons: empty cell");
    assert.deepEqual(JSON.parse(rows[3][3]), FEEDBACK[2].reasons, "reasons JSON cell");
  });
}

// ---------------------------------------------------------------------------
// values the SDK lets a client write, and must then be able to read back
// ---------------------------------------------------------------------------
// Every aggregate key the SDK declares (`sum`, `avg_<field>`, `max_<field>`, ...) is typed
// `number`, optional but not nullable: over no values at all, SQL's null must not reach it.
function assertAggregates(row, keys, what) {
  for (const key of keys) {
    if (key in row) assert.equal(typeof row[key], "number", `${what}.${key} is a number when present`);
  }
}

async function emptyAndNullValues() {
  await check("query.conversations sum/avg/max over no matching rows -> SDK-valid row, count 0", async () => {
    const response = await sdk.query.conversations({
      select: [
        { type: "aggregation", aggregation: "count" },
        { type: "aggregation", aggregation: "sum", field: "userMessageCount" },
        { type: "aggregation", aggregation: "avg", field: "userMessageCount" },
        { type: "aggregation", aggregation: "max", field: "firstMessageTime" },
      ],
      where: { condition: { field: "type", operator: "eq", value: "support_copilot" } },
    });
    const [row] = assertEnvelope(response, 1, "no copilot conversations");
    assert.equal(row.count, 0, "count");
    assertAggregates(row, ["sumUserMessageCount", "avgUserMessageCount", "maxFirstMessageTime"], "row");
  });

  await check("query.querySemanticThreads sum/min of messagesCount on the empty view -> SDK-valid row", async () => {
    const response = await sdk.query.querySemanticThreads({
      select: [
        { type: "aggregation", aggregation: "sum", field: "messagesCount" },
        { type: "aggregation", aggregation: "min", field: "questionLength" },
      ],
    });
    const [row] = assertEnvelope(response, 1, "no threads");
    assertAggregates(row, ["sumMessagesCount", "minQuestionLength"], "row");
  });

  // Written last, so the exact counts above are not disturbed.
  await check("events.log with properties {ref: null} and userProperties.userType null -> query.queryEvents reads it back", async () => {
    await sdk.events.log(API, {
      id: "q-e9",
      entityType: "message",
      type: "message:copied",
      messageId: "q-m2",
      createdAt: at("2026-02-05T10:00:00.000Z"),
      properties: { widget: "docs", ref: null },
      // The SDK's own request schema declares userType nullable.
      userProperties: { userId: "u1", userType: null, additionalProperties: {} },
    });
    const response = await sdk.query.queryEvents({
      select: [{ type: "field", field: "properties" }, { type: "field", field: "userProperties" }],
      where: { condition: { field: "id", operator: "eq", value: "q-e9" } },
    });
    const [row] = assertEnvelope(response, 1, "q-e9");
    assert.equal(row.properties?.widget, "docs", "properties.widget");
    assert.equal(row.userProperties?.userId, "u1", "userProperties.userId");
  });
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------
async function errorChecks() {
  await check("query.queryEvents with a web key -> Forbidden (403)", async () => {
    await expectError(asWeb.query.queryEvents({}), errors.Forbidden, 403, "forbidden");
  });

  await check("the other query calls with a web key -> Forbidden (403) each", async () => {
    const calls = {
      "query.conversations": () => asWeb.query.conversations({}),
      "query.queryFeedback": () => asWeb.query.queryFeedback({}),
      "query.querySemanticThreads": () => asWeb.query.querySemanticThreads({}),
      "query.exportSemanticThreadsQueryResults": () => asWeb.query.exportSemanticThreadsQueryResults({}),
      "query.queryPropertyKeys": () => asWeb.query.queryPropertyKeys({ field: "properties" }),
      "query.queryPropertyValues": () => asWeb.query.queryPropertyValues({ field: "properties", key: "plan" }),
      topSearchQueries: () => asWeb.topSearchQueries({}),
      weeklySearchUsers: () => asWeb.weeklySearchUsers({}),
    };
    for (const [name, call] of Object.entries(calls)) {
      try {
        await expectError(call(), errors.Forbidden, 403, "forbidden");
      } catch (e) {
        e.message = `${name}: ${e.message}`;
        throw e;
      }
    }
  });

  await check("query.conversations with an invalid key -> Unauthorized (401)", async () => {
    await expectError(asBadKey.query.conversations({}), errors.Unauthorized, 401, "unauthorized");
  });

  await check("query.queryEvents where field \"entityType\" is refused client-side by the SDK (no request sent)", async () => {
    const before = wire.requests;
    await assert.rejects(
      sdk.query.queryEvents({ where: { condition: { field: "entityType", operator: "eq", value: "search" } } }),
      (e) => e instanceof errors.SDKValidationError && !(e instanceof InkeepAnalyticsError),
    );
    assert.equal(wire.requests, before, "no HTTP request was made");
  });

  await check("query.queryEvents where field \"entityType\" (body rewritten on the wire) -> BadRequest (400)", async () => {
    // §7.11: entityType is not an events-view field; the enum is closed.
    wire.rewriteNextBody = (body) => ({ ...body, where: { condition: { field: "entityType", operator: "eq", value: "search" } } });
    await expectError(
      sdk.query.queryEvents({ where: { condition: { field: "type", operator: "eq", value: "search" } } }),
      errors.BadRequest, 400, "bad_request",
    );
  });

  await check("query.queryEvents createdAt gte \"yesterday\" (not a date) -> BadRequest (400)", async () => {
    await expectError(
      sdk.query.queryEvents({ where: { condition: { field: "createdAt", operator: "gte", value: "yesterday" } } }),
      errors.BadRequest, 400, "bad_request",
    );
  });

  await check("query.queryEvents jsonHasKey on `type` (a string field) -> UnprocessableEntity (422)", async () => {
    await expectError(
      sdk.query.queryEvents({ where: { condition: { field: "type", operator: "jsonHasKey", value: "x" } } }),
      errors.UnprocessableEntity, 422, "unprocessable_entity",
    );
  });

  await check("query.queryFeedback sum of `type` (not a number) -> UnprocessableEntity (422)", async () => {
    await expectError(
      sdk.query.queryFeedback({ select: [{ type: "aggregation", aggregation: "sum", field: "type" }] }),
      errors.UnprocessableEntity, 422, "unprocessable_entity",
    );
  });

  await check("query.exportSemanticThreadsQueryResults time bucket on `question` -> UnprocessableEntity (422)", async () => {
    await expectError(
      sdk.query.exportSemanticThreadsQueryResults({ select: [{ type: "time", timeUnit: "day", field: "question" }] }),
      errors.UnprocessableEntity, 422, "unprocessable_entity",
    );
  });

  await check("query.queryEvents notes of 81 characters (maxLength 80, not checked by the SDK) -> BadRequest (400)", async () => {
    await expectError(sdk.query.queryEvents({ notes: "x".repeat(81) }), errors.BadRequest, 400, "bad_request");
  });

  await check("query.queryPropertyKeys() without a body (`field` is required) -> BadRequest (400)", async () => {
    await expectError(sdk.query.queryPropertyKeys(), errors.BadRequest, 400, "bad_request");
  });

  await check("topSearchQueries after \"yesterday\" -> BadRequest (400)", async () => {
    await expectError(sdk.topSearchQueries({ after: "yesterday" }), errors.BadRequest, 400, "bad_request");
  });
}

try {
  await writeData();
  await eventQueries();
  await conversationQueries();
  await feedbackQueries();
  await semanticThreadQueries();
  await propertyQueries();
  await searchStatistics();
  await csvExports();
  await emptyAndNullValues();
  await errorChecks();
} catch (e) {
  failed += 1;
  console.log(`FAIL unexpected error outside a check\n    ${describe(e)}`);
}
clearTimeout(overallTimer);
finish(failed === 0 ? 0 : 1);
