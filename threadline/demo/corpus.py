"""The words of the demo project: what its users ask a docs assistant, what it answers and which
pages it cites, what they search for, and why they rate answers. Written for a fictional API
platform ("Acme"), so the dashboard shows believable text without anyone's real data."""

from __future__ import annotations

import dataclasses

DOCS = "https://docs.acme.dev"


@dataclasses.dataclass(frozen=True)
class Page:
    path: str
    title: str
    breadcrumbs: tuple[str, ...]

    @property
    def url(self) -> str:
        return DOCS + self.path


@dataclasses.dataclass(frozen=True)
class Topic:
    """One subject users ask about: the questions they type, the answer, the cited pages and
    the searches that lead to it. `documented=False` marks a gap in the docs: searches for it
    rarely find a page worth clicking and its answers get more thumbs down."""

    name: str
    section: str
    questions: tuple[str, ...]
    follow_ups: tuple[tuple[str, str], ...]  # (question, answer)
    answer: str
    pages: tuple[Page, ...]
    searches: tuple[str, ...]
    documented: bool = True


def _page(path: str, title: str, *crumbs: str) -> Page:
    return Page(path, title, ("Docs", *crumbs))


TOPICS: tuple[Topic, ...] = (
    Topic(
        "api keys",
        "Authentication",
        (
            "How do I create an API key?",
            "Where do I find my API key?",
            "How do I rotate an API key without downtime?",
        ),
        (
            (
                "Can I limit a key to read-only?",
                "Yes: create it with the `read` scope. Read-only keys get 403 on any write.",
            ),
            (
                "What happens to requests made with a revoked key?",
                "They are refused with 401 within a few seconds of revoking; nothing they sent is "
                "stored.",
            ),
        ),
        "Create a key under Settings → API keys, or with `acme keys create --scope read`. "
        "Keys are shown once, so store it in your secret manager. To rotate without downtime, "
        "create the new key, deploy it, then revoke the old one: revoked keys are refused "
        "within a few seconds.",
        (
            _page("/guides/authentication", "Authentication", "Guides"),
            _page("/api/keys", "API keys", "API reference"),
        ),
        ("api key", "rotate api key", "revoke key", "api key scopes"),
    ),
    Topic(
        "webhooks",
        "Integrations",
        (
            "How do I verify webhook signatures?",
            "Why are my webhooks not arriving?",
            "How do webhook retries work?",
        ),
        (
            (
                "Can I replay a failed delivery?",
                "Yes: open the endpoint in the dashboard, pick the delivery and choose Replay, or "
                "call `POST /webhook-deliveries/{id}/replay`.",
            ),
            (
                "Which IP addresses do webhooks come from?",
                "Deliveries come from the addresses listed at /ips.json, which changes rarely and "
                "is announced a month ahead.",
            ),
        ),
        "Every delivery carries an `Acme-Signature` header: an HMAC-SHA256 of the raw body with "
        "your endpoint secret. Compare it in constant time before parsing the body. Failed "
        "deliveries are retried with exponential backoff for 72 hours; you can replay any "
        "delivery from the dashboard.",
        (
            _page("/guides/webhooks", "Receiving webhooks", "Guides"),
            _page("/guides/webhooks/signatures", "Verifying signatures", "Guides", "Webhooks"),
            _page("/api/webhook-endpoints", "Webhook endpoints", "API reference"),
        ),
        ("webhook", "webhook signature", "webhook retries", "webhook not received"),
    ),
    Topic(
        "rate limits",
        "API",
        (
            "What are the API rate limits?",
            "Why am I getting 429 Too Many Requests?",
            "How do I handle rate limiting in the SDK?",
        ),
        (
            (
                "Can I get a higher limit?",
                "Business plans can ask support for up to 1,000 requests per second per key.",
            ),
            (
                "Are limits per key or per account?",
                "Per key. Each key has its own budget, so one noisy job cannot starve the others.",
            ),
        ),
        "Each key may make 100 requests per second with bursts of 200. A 429 answer carries "
        "`Retry-After`; the official SDKs wait and retry for you. Limits are per key, so split "
        "batch jobs and interactive traffic across two keys.",
        (
            _page("/api/rate-limits", "Rate limits", "API reference"),
            _page("/sdk/retries", "Retries and backoff", "SDKs"),
        ),
        ("rate limit", "429", "too many requests", "retry-after"),
    ),
    Topic(
        "pagination",
        "API",
        ("How does pagination work?", "How do I fetch all results from a list endpoint?"),
        (
            (
                "Is there a maximum page size?",
                "Yes, 100 items. Larger `limit` values are refused with 400 rather than silently "
                "capped.",
            ),
            (
                "Are cursors stable when new items arrive?",
                "Yes. A cursor points at a position, so new items never make you see an item "
                "twice.",
            ),
        ),
        "List endpoints return at most `limit` items (default 20, maximum 100) and a "
        "`next_cursor`. Pass it back as `cursor` until it is null. Cursors are stable: items "
        "created while you page appear at the start, never twice.",
        (_page("/api/pagination", "Pagination", "API reference"),),
        ("pagination", "next cursor", "list all", "page size"),
    ),
    Topic(
        "python sdk",
        "SDKs",
        (
            "How do I install the Python SDK?",
            "Does the Python SDK support async?",
            "How do I set a timeout in the Python client?",
        ),
        (
            (
                "Which Python versions are supported?",
                "Python 3.9 to 3.13. Each release drops a version about six months after its end "
                "of life.",
            ),
            (
                "How do I enable debug logging?",
                "Set `ACME_LOG=debug`, or call `logging.getLogger('acme').setLevel('DEBUG')`. "
                "Keys are never logged.",
            ),
        ),
        "Install it with `pip install acme`. Create a client with `acme.Client(api_key=...)`, "
        "or `acme.AsyncClient` for asyncio. Every call takes `timeout=`; the default is 30 "
        "seconds. Python 3.9 and later are supported.",
        (
            _page("/sdk/python", "Python SDK", "SDKs"),
            _page("/sdk/python/async", "Async usage", "SDKs", "Python"),
        ),
        ("python sdk", "pip install", "async client", "python timeout"),
    ),
    Topic(
        "node sdk",
        "SDKs",
        ("How do I use the Node SDK with TypeScript?", "Why does the Node SDK throw ECONNRESET?"),
        (
            (
                "Does it work in edge runtimes?",
                "Yes: the SDK only needs `fetch`, so it runs on Cloudflare Workers, Vercel Edge "
                "and Deno.",
            ),
            (
                "How do I pass a custom fetch?",
                "Give the client a `fetch` option: `new Acme({ apiKey, fetch: myFetch })`.",
            ),
        ),
        "`npm install @acme/sdk` ships its own types, so `import { Acme } from '@acme/sdk'` is "
        "all TypeScript needs. ECONNRESET usually means a proxy closed an idle keep-alive "
        "connection; set `keepAlive: false` or upgrade to 4.2, which retries it.",
        (
            _page("/sdk/node", "Node.js SDK", "SDKs"),
            _page("/sdk/node/troubleshooting", "Troubleshooting", "SDKs", "Node.js"),
        ),
        ("node sdk", "typescript", "econnreset", "npm install"),
    ),
    Topic(
        "sso",
        "Accounts",
        ("How do I set up SAML SSO with Okta?", "Can I enforce SSO for my whole team?"),
        (
            (
                "Do you support SCIM provisioning?",
                "Yes, SCIM 2.0 on the Business plan: generate a SCIM token under Settings → "
                "Security.",
            ),
            (
                "What happens to existing passwords?",
                "Once SSO is required, passwords stop working for your domain; owners keep a "
                "recovery code.",
            ),
        ),
        "SSO is on the Business plan: under Settings → Security add a SAML connection, paste "
        "your identity provider's metadata URL and map the email attribute. Once it works, "
        "turn on 'Require SSO'; existing passwords then stop working for your domain.",
        (
            _page("/guides/sso", "Single sign-on", "Guides"),
            _page("/guides/sso/okta", "SSO with Okta", "Guides", "Single sign-on"),
        ),
        ("sso", "saml", "okta", "scim"),
    ),
    Topic(
        "docker",
        "Self-hosting",
        ("How do I run Acme in Docker?", "Which environment variables does the image read?"),
        (
            (
                "How do I persist data between restarts?",
                "Mount a volume at `/data`, for example `-v acme-data:/data`. Without it the data "
                "lives in the container.",
            ),
            (
                "Is there an ARM image?",
                "Yes, every image is published for amd64 and arm64 under the same tag.",
            ),
        ),
        "Run `docker run -p 8080:8080 -v acme-data:/data ghcr.io/acme/server`. The volume keeps "
        "your data across restarts. Every setting is an `ACME_*` environment variable; images "
        "are published for amd64 and arm64.",
        (
            _page("/self-hosting/docker", "Docker", "Self-hosting"),
            _page("/self-hosting/configuration", "Configuration", "Self-hosting"),
        ),
        ("docker", "docker compose", "environment variables", "arm64"),
    ),
    Topic(
        "kubernetes",
        "Self-hosting",
        ("Is there a Helm chart?", "How many replicas should I run on Kubernetes?"),
        (
            (
                "How do I configure readiness probes?",
                "The chart sets them for you; the endpoint is `/ready`, which answers 200 once "
                "the database is reachable.",
            ),
            (
                "Can I use an external PostgreSQL?",
                "Yes: set `database.url` in your values and turn `postgresql.enabled` off.",
            ),
        ),
        "Yes: `helm install acme oci://ghcr.io/acme/charts/acme`. Replicas are stateless, so "
        "run at least two behind the service; point `database.url` at your PostgreSQL. The "
        "chart wires `/ready` as the readiness probe.",
        (
            _page("/self-hosting/kubernetes", "Kubernetes and Helm", "Self-hosting"),
            _page("/self-hosting/scaling", "Scaling", "Self-hosting"),
        ),
        ("helm chart", "kubernetes", "replicas", "readiness probe"),
    ),
    Topic(
        "exports",
        "Analytics",
        ("How do I export my data to CSV?", "Can I schedule a daily export to S3?"),
        (
            (
                "Is there a row limit on exports?",
                "No. Exports stream every row; very large ones are split into files of one "
                "million rows.",
            ),
            ("Which time zone do exported dates use?", "UTC, in ISO 8601 with a Z suffix."),
        ),
        "Any report can be downloaded as CSV from its menu, or through `POST /exports`. "
        "Exports stream every row, with dates in UTC. Scheduled exports to S3 or GCS are set "
        "up under Settings → Destinations.",
        (
            _page("/guides/exports", "Exporting data", "Guides"),
            _page("/api/exports", "Exports", "API reference"),
        ),
        ("export csv", "export", "s3 export", "download data"),
    ),
    Topic(
        "react widget",
        "Widgets",
        ("How do I add the chat widget to my React app?", "How do I change the widget's colors?"),
        (
            (
                "Can I open the widget from my own button?",
                "Yes: call `openChat()` from the `useAcmeChat()` hook in your button's onClick.",
            ),
            (
                "Does the widget support dark mode?",
                "Yes. Set `colorMode` to `system` to follow the page, or force `light` or `dark`.",
            ),
        ),
        "Install `@acme/widget-react` and render `<AcmeChat apiKey=... />` once near the root. "
        "Colors come from the `theme` prop (primary color, radius, font). It follows the "
        "page's dark mode when `colorMode` is `system`, and `openChat()` opens it from any "
        "button.",
        (
            _page("/widgets/react", "React widget", "Widgets"),
            _page("/widgets/theming", "Theming", "Widgets"),
        ),
        ("react widget", "widget theme", "dark mode", "chat button"),
    ),
    Topic(
        "billing",
        "Accounts",
        ("How is usage billed?", "How do I download invoices?", "How do I change my plan?"),
        (
            (
                "Do unused credits roll over?",
                "Prepaid credits roll over for twelve months; monthly included usage does not.",
            ),
            (
                "Can I pay by bank transfer?",
                "Yearly plans can pay by bank transfer; ask billing@acme.dev for an invoice.",
            ),
        ),
        "Usage is metered per request and billed monthly in arrears. Invoices are under "
        "Settings → Billing, where owners can also change plans; upgrades apply at once and "
        "downgrades at the end of the billing period.",
        (
            _page("/guides/billing", "Billing and plans", "Guides"),
            _page("/guides/billing/invoices", "Invoices", "Guides", "Billing and plans"),
        ),
        ("billing", "invoice", "pricing", "change plan"),
    ),
    Topic(
        "migrations",
        "Self-hosting",
        ("How do I upgrade from 3.x to 4.0?", "Do upgrades need downtime?"),
        (
            (
                "Can I roll back after upgrading?",
                "Only by restoring the backup you took before upgrading; schema migrations are "
                "one way.",
            ),
            (
                "How long does the 4.0 migration take?",
                "A few seconds per million rows on SQLite; on PostgreSQL it runs online while you "
                "serve traffic.",
            ),
        ),
        "Back up the database, then start the 4.0 image: it migrates the schema on start. "
        "Migrations are online for PostgreSQL (no downtime) and take a few seconds per million "
        "rows on SQLite. Roll back by restoring the backup; down-migrations are not supported.",
        (
            _page("/self-hosting/upgrading", "Upgrading", "Self-hosting"),
            _page("/changelog/4-0", "Release notes 4.0", "Changelog"),
        ),
        ("upgrade", "migration", "4.0", "rollback"),
    ),
    Topic(
        "search ranking",
        "Search",
        ("How do I boost some pages in search results?", "Why does search ignore my synonyms?"),
        (
            (
                "Can I exclude pages from search?",
                "Yes: add `search.exclude: true` to the page's front matter.",
            ),
            (
                "How often is the index refreshed?",
                "The crawler runs every hour; you can also trigger a crawl from Settings → Search.",
            ),
        ),
        "Add `search.boost` to a page's front matter (1.0 is neutral, 2.0 doubles its score). "
        "Synonyms apply after the next crawl, which runs hourly; exclude pages with "
        "`search.exclude: true`.",
        (
            _page("/guides/search", "Search configuration", "Guides"),
            _page("/guides/search/synonyms", "Synonyms", "Guides", "Search"),
        ),
        ("search boost", "synonyms", "exclude from search", "reindex"),
    ),
    Topic(
        "graphql",
        "API",
        ("Do you have a GraphQL API?", "How do I query nested objects in GraphQL?"),
        (
            (
                "Is there a query complexity limit?",
                "I could not find this in the docs. The GraphQL beta page does not document a "
                "limit.",
            ),
        ),
        "The GraphQL endpoint is in beta at `/graphql` and mirrors the REST resources. Nested "
        "selections are allowed up to depth 6; heavier queries are refused with a complexity "
        "error that says by how much they exceed the limit.",
        (_page("/api/graphql", "GraphQL (beta)", "API reference"),),
        ("graphql", "graphql schema", "query complexity"),
        documented=False,
    ),
    Topic(
        "terraform",
        "Integrations",
        ("Is there a Terraform provider?", "How do I manage API keys with Terraform?"),
        (
            (
                "Can Terraform import existing projects?",
                "The docs do not cover Terraform yet, so I cannot say. The community provider's "
                "README may.",
            ),
        ),
        "A community Terraform provider exists, but it is not maintained by us yet. You can "
        "script keys and projects with the REST API in the meantime.",
        (_page("/api/projects", "Projects", "API reference"),),
        ("terraform", "terraform provider", "infrastructure as code"),
        documented=False,
    ),
    Topic(
        "audit logs",
        "Accounts",
        ("Where can I see who changed a setting?", "How long are audit logs kept?"),
        (
            (
                "Can I stream audit logs to my SIEM?",
                "I could not find a documented way to stream audit logs; the docs only describe "
                "the dashboard view.",
            ),
        ),
        "Owners see the audit log under Settings → Security → Audit log: every change with who "
        "made it and from which IP. Entries are kept for one year on Business plans.",
        (_page("/guides/audit-log", "Audit log", "Guides"),),
        ("audit log", "siem", "activity log"),
        documented=False,
    ),
    Topic(
        "sandbox",
        "Guides",
        ("Is there a test mode?", "How do I test without being charged?"),
        (("Does test data expire?", "Yes: sandbox data is wiped after 30 days without activity."),),
        "Every project has a sandbox: keys starting with `sk_test_` act on sandbox data only "
        "and are never billed. Sandbox data is wiped after 30 days without activity.",
        (_page("/guides/testing", "Testing and sandbox", "Guides"),),
        ("sandbox", "test mode", "test keys"),
    ),
)

# The long tail of what people type into a docs search box, beyond each topic's own phrases.
SEARCH_VERBS = (
    "install", "configure", "deploy", "debug", "migrate", "export", "delete", "rotate",
    "monitor", "filter", "paginate", "secure", "test", "log", "embed", "customize", "reset",
    "limit", "connect", "disable",
)  # fmt: skip
SEARCH_NOUNS = (
    "api keys", "webhooks", "python sdk", "node sdk", "widget", "search bar", "sso", "cors",
    "rate limits", "events", "projects", "users", "teams", "dashboards", "csv", "postgres",
    "docker", "helm", "cli", "secrets", "sessions", "alerts", "slack", "discord", "github",
    "openapi", "timeouts", "retries", "tokens", "sitemaps", "markdown", "dark mode",
    "custom domain", "tls", "proxy", "backups", "logs", "metrics", "versions", "translations",
)  # fmt: skip

FOLLOW_UP_THANKS = ("Thanks, that worked!", "Perfect, thank you.", "Got it, thanks.")

# The widget's thumbs-down checkboxes (inkeep-widget.md §5), each with comments users leave.
NEGATIVE_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "unrelated_response",
        ("", "I asked about the Node SDK, not Python", "This answers a different question"),
    ),
    (
        "inaccurate_statement",
        ("", "This setting does not exist anymore", "Answer was outdated", "Wrong plan name"),
    ),
    (
        "inaccurate_code_snippet",
        ("", "The import path is wrong", "This code does not compile", "Missing await"),
    ),
    (
        "irrelevant_citations",
        ("", "The linked page does not mention this", "Links go to the old docs"),
    ),
)
NEGATIVE_DETAILS = (
    None,
    "Had to open a support ticket in the end.",
    "The docs page says something else.",
)
POSITIVE_DETAILS = (None, None, None, "Exactly what I needed.", "Saved me an hour, thanks!")


@dataclasses.dataclass(frozen=True)
class Integration:
    """A source of the demo's data: its name, the conversation type it logs (reference §4.1),
    its share of conversations, the event component it reports, and whether it sends search."""

    name: str
    conversation_type: str
    weight: int
    source: str
    component: str
    user_role: str = "user"
    assistant_role: str = "assistant"


INTEGRATIONS: tuple[Integration, ...] = (
    Integration("Docs widget", "openai", 60, "docs", "EmbeddedChat"),
    Integration("Slack bot", "openai", 15, "slack", "SlackBot"),
    Integration("Discord bot", "openai", 10, "discord", "DiscordBot"),
    Integration("API", "openai", 8, "api", "Api"),
    Integration("Support copilot", "support_copilot", 4, "zendesk", "SupportCopilot"),
    Integration(
        "Support tickets",
        "support_ticket",
        3,
        "zendesk",
        "Zendesk",
        user_role="customer",
        assistant_role="agent",
    ),
)
# Search only happens in the docs site's search bar.
SEARCH_INTEGRATION = 0
