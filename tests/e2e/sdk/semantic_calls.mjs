// Contract check: the official `@inkeep/inkeep-analytics` SDK reads semantic threads that
// threadline's insight worker labelled. Two phases, run by test_sdk_contract.py around a
// `threadline insights run` of its own (the server runs with THREADLINE_INSIGHTS=off, so the
// labelling happens exactly when the test says):
//
//   THREADLINE_SDK_PHASE=log    logs four conversations (English, German, French, and a
//                               knowledge gap with a thumbs down) through conversations.log and
//                               feedback.submit;
//   THREADLINE_SDK_PHASE=check  reads them back through query.querySemanticThreads: every thread
//                               labelled within the vocabulary of
//                               /work/shared/reference/semantic-threads.md, the languages, the
//                               gap, and semantic search (`query`) ranking the matching thread
//                               first. The SDK's zod schemas reject any response shape it does
//                               not know, which fails the check.
//
// Same conventions as query_calls.mjs: one line per check, last line "<n> passed, <m> failed".
// Env: THREADLINE_URL, THREADLINE_API_KEY (a project with no data yet), THREADLINE_SDK_PHASE.

import assert from "node:assert/strict";
import { InkeepAnalytics } from "@inkeep/inkeep-analytics";

const BASE_URL = process.env.THREADLINE_URL;
const API_KEY = process.env.THREADLINE_API_KEY;
const PHASE = process.env.THREADLINE_SDK_PHASE;

let passed = 0;
let failed = 0;

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    const body = typeof e?.body === "string" ? `\n    response body: ${e.body.slice(0, 2000)}` : "";
    console.log(`FAIL ${name}\n    ${e?.stack ?? e}${body}`);
  }
}

const sdk = new InkeepAnalytics({
  serverURL: BASE_URL,
  apiIntegrationKey: API_KEY,
  retryConfig: { strategy: "none" },
  timeoutMs: 30000,
});
const API = { apiIntegrationKey: API_KEY };
const at = (iso) => new Date(iso);
const docs = (path, title) => ({
  url: `https://docs.acme.dev${path}`,
  title,
  type: "documentation",
  breadcrumbs: ["Docs"],
});

const CONVERSATIONS = [
  {
    id: "s-keys",
    type: "openai",
    createdAt: at("2026-03-01T08:00:00.000Z"),
    messages: [
      { id: "s-m1", role: "user", content: "How do I rotate an API key without downtime?", createdAt: at("2026-03-01T08:00:00.000Z") },
      {
        id: "s-m2",
        role: "assistant",
        content: "Create a new key under Settings → API keys, deploy it, then revoke the old key: revoked keys are refused within a few seconds.",
        links: [docs("/guides/authentication", "Authentication")],
        createdAt: at("2026-03-01T08:00:05.000Z"),
      },
      { id: "s-m3", role: "user", content: "Thanks, that worked!", createdAt: at("2026-03-01T08:02:00.000Z") },
    ],
  },
  {
    id: "s-webhooks-de",
    type: "openai",
    createdAt: at("2026-03-02T09:00:00.000Z"),
    messages: [
      { id: "s-m4", role: "user", content: "Warum kommen meine Webhooks nicht an?", createdAt: at("2026-03-02T09:00:00.000Z") },
      {
        id: "s-m5",
        role: "assistant",
        content: "Prüfe die Zustellungen des Endpunkts im Dashboard: fehlgeschlagene Zustellungen werden 72 Stunden lang wiederholt und lassen sich erneut senden.",
        links: [docs("/guides/webhooks", "Webhooks")],
        createdAt: at("2026-03-02T09:00:06.000Z"),
      },
    ],
  },
  {
    id: "s-export-fr",
    type: "openai",
    createdAt: at("2026-03-03T10:00:00.000Z"),
    messages: [
      { id: "s-m6", role: "user", content: "Comment exporter mes données en CSV ?", createdAt: at("2026-03-03T10:00:00.000Z") },
      {
        id: "s-m7",
        role: "assistant",
        content: "Chaque rapport se télécharge en CSV depuis son menu, ou avec `POST /exports`. Les dates sont en UTC.",
        links: [docs("/guides/exports", "Exports")],
        createdAt: at("2026-03-03T10:00:04.000Z"),
      },
    ],
  },
  {
    id: "s-terraform-gap",
    type: "openai",
    createdAt: at("2026-03-04T11:00:00.000Z"),
    messages: [
      { id: "s-m8", role: "user", content: "Does the Terraform provider support importing existing projects?", createdAt: at("2026-03-04T11:00:00.000Z") },
      {
        id: "s-m9",
        role: "assistant",
        content: "I couldn't find this in the documentation, so I'm not sure whether imports are supported.",
        createdAt: at("2026-03-04T11:00:05.000Z"),
      },
    ],
  },
];
const FEEDBACK = [
  { id: "s-fb1", type: "negative", messageId: "s-m9", createdAt: at("2026-03-04T11:05:00.000Z"), reasons: [{ label: "unhelpful", details: "No answer" }] },
];

// The vocabulary (semantic-threads.md): clients filter and group on these exact values.
const SENTIMENTS = ["positive", "neutral", "negative"];
const EMOTIONS = ["neutral", "curious", "confused", "frustrated", "satisfied"];
const QUESTION_TYPES = ["how_to", "troubleshooting", "conceptual", "feature_request", "account", "other"];
// JSON-valued columns come back as arrays, or as JSON text where the SDK types them `any`.
const list = (value) => (typeof value === "string" ? JSON.parse(value) : value);

async function log() {
  await check(`log ${CONVERSATIONS.length} conversations and ${FEEDBACK.length} feedback through the SDK`, async () => {
    for (const body of CONVERSATIONS) {
      const conversation = await sdk.conversations.log(API, body);
      assert.equal(conversation.id, body.id);
    }
    for (const body of FEEDBACK) {
      assert.equal((await sdk.feedback.submit(body)).id, body.id);
    }
  });
}

async function threads(request) {
  const response = await sdk.query.querySemanticThreads(request);
  assert.equal(response.status, "ok");
  return response.data.result;
}

function byConversation(rows) {
  const found = {};
  for (const row of rows) {
    for (const id of list(row.conversationIds)) found[id] = row;
  }
  return found;
}

async function checkLabels() {
  let rows = [];
  await check("query.querySemanticThreads {} -> one labelled thread per conversation", async () => {
    rows = await threads({});
    const found = byConversation(rows);
    assert.deepEqual(Object.keys(found).sort(), CONVERSATIONS.map((c) => c.id).sort(), "conversations");
    assert.equal(rows.length, CONVERSATIONS.length, "a follow-up 'thanks' stays in its thread");
  });

  await check("every thread: subject, languages, sentiment, emotion, questionType in the vocabulary", async () => {
    assert.ok(rows.length, "no threads");
    for (const row of rows) {
      const what = `thread of ${list(row.conversationIds)}`;
      assert.equal(typeof row.subject, "string", `${what}: subject`);
      assert.ok(row.subject.trim().length > 0, `${what}: subject empty`);
      assert.equal(typeof row.category, "string", `${what}: category`);
      const languages = list(row.languages);
      assert.ok(Array.isArray(languages) && languages.length > 0, `${what}: languages ${row.languages}`);
      for (const code of languages) assert.match(code, /^[a-z]{2}$/, `${what}: ISO 639-1`);
      assert.deepEqual(languages, [...languages].sort(), `${what}: languages sorted`);
      assert.ok(SENTIMENTS.includes(row.sentiment), `${what}: sentiment ${row.sentiment}`);
      assert.ok(EMOTIONS.includes(row.emotion), `${what}: emotion ${row.emotion}`);
      assert.ok(QUESTION_TYPES.includes(row.questionType), `${what}: questionType ${row.questionType}`);
      assert.equal(row.isInitialQuestionAnswer, true, `${what}: isInitialQuestionAnswer`);
      assert.equal(row.areAIAnnotationsVerified, false, `${what}: areAIAnnotationsVerified`);
    }
  });

  await check("languages and the knowledge gap read back as labelled", async () => {
    const found = byConversation(rows);
    assert.deepEqual(list(found["s-keys"].languages), ["en"]);
    assert.deepEqual(list(found["s-webhooks-de"].languages), ["de"]);
    assert.deepEqual(list(found["s-export-fr"].languages), ["fr"]);
    const gap = found["s-terraform-gap"];
    assert.equal(gap.isAnswerConfident, false, "hedging answer");
    assert.equal(gap.hasNegativeFeedback, true, "thumbs down on its answer");
    assert.equal(typeof gap.gapSummary, "string", "gapSummary");
    assert.ok(gap.gapSummary.length > 0, "gapSummary empty");
    const keys = found["s-keys"];
    assert.equal(keys.isAnswerConfident, true, "cited, confident answer");
    assert.equal(keys.gapSummary ?? null, null, "no gap");
    assert.equal(keys.messagesCount, 3, "the 'thanks' follow-up is in the thread");
  });

  await check("query.querySemanticThreads with `query` -> the matching thread ranked first", async () => {
    const found = await threads({
      query: "replace my access key safely",
      select: [{ type: "field", field: "question" }, { type: "field", field: "conversationIds" }],
    });
    assert.ok(found.length > 0, "nothing found");
    assert.deepEqual(list(found[0].conversationIds), ["s-keys"], `ranking: ${JSON.stringify(found)}`);
    const gaps = await threads({
      query: "terraform import",
      select: [{ type: "field", field: "conversationIds" }],
      where: { condition: { field: "hasNegativeFeedback", operator: "eq", value: true } },
    });
    assert.deepEqual(gaps.map((row) => list(row.conversationIds)), [["s-terraform-gap"]], "with where");
  });
}

if (!BASE_URL || !API_KEY || !["log", "check"].includes(PHASE)) {
  failed += 1;
  console.log("FAIL environment: THREADLINE_URL, THREADLINE_API_KEY and THREADLINE_SDK_PHASE=log|check");
  finish();
}
if (PHASE === "log") await log();
else await checkLabels();
finish();
