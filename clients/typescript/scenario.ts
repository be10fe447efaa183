// The app's flow of clients/python/scenario.py, written against the TypeScript types that
// openapi-typescript generates from openapi/openapi.json, through openapi-fetch. clients/check.sh
// type-checks it with `tsc --strict`: a renamed field, a lost enum or an answer typed `unknown`
// fails the build. (It is compiled, not run: the Python scenario runs the same flow live.)
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];
type Reason = Schemas["Reason"];
type Problem = Schemas["Problem"];

// The ETag and Retry-After headers are typed in the spec, not only in prose.
type ContactETag = paths["/v1/contacts/{contact_id}"]["get"]["responses"][200]["headers"]["ETag"];
type RetryAfter = components["responses"]["TOO_MANY_REQUESTS"]["headers"]["Retry-After"];

const REASONS_AN_APP_HANDLES: readonly Reason[] = ["min_gap", "awaiting_reply", "daily_cap"];

function isKnownReason(reason: Problem["reason"]): reason is Reason {
  return (REASONS_AN_APP_HANDLES as readonly string[]).includes(reason);
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

export async function scenario(baseUrl: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });
  const as = (token: string) =>
    createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  async function signUp(name: string): Promise<Schemas["AuthResult"]> {
    const { data } = await anonymous.POST("/v1/auth/register", {
      body: { email: `${name}@example.com`, password: "a long password", display_name: name },
    });
    return must(data, "registration");
  }
  const organizer = as((await signUp("olga")).access_token);
  const ana = as((await signUp("ana")).access_token);
  const ben = as((await signUp("ben")).access_token);

  const now = Date.now();
  const created = await organizer.POST("/v1/events", {
    body: {
      name: "DemoConf",
      starts_at: new Date(now - 600_000).toISOString(),
      ends_at: new Date(now + 8 * 3_600_000).toISOString(),
      timezone: "Europe/Berlin",
    },
  });
  const event: Schemas["EventWithRole"] = must(created.data, "event");
  const eventId: string = event.id;

  const reg = async (client: typeof ana) =>
    must(
      (await client.POST("/v1/events/{event_id}/registrations", {
        params: { path: { event_id: eventId } },
      })).data,
      "registration",
    );
  const anaReg = await reg(ana);
  const benReg = await reg(ben);
  // badge_code and badge_url are in the badge owner's own answers only.
  const anaBadgeUrl: string = must(anaReg.badge_url, "badge_url");
  const benBadge: string = must(benReg.badge_code, "badge_code");
  const status: "registered" | "cancelled" = anaReg.status;

  // The badge PNG as bytes.
  const png = await ana.GET("/v1/registrations/{registration_id}/badge.png", {
    params: { path: { registration_id: anaReg.id } },
    parseAs: "arrayBuffer",
  });
  const pngBytes: ArrayBuffer = must(png.data, "badge");

  // Door scan: the status is a closed enum.
  const scanned = await organizer.POST("/v1/events/{event_id}/check-ins", {
    params: { path: { event_id: eventId } },
    body: { badge: anaBadgeUrl, device_id: "door-1" },
  });
  const scanStatus: Schemas["CheckInResult"]["status"] = must(scanned.data, "scan").status;
  const checkedIn: boolean = scanStatus === "checked_in";

  // Contact scan, then a note with If-Match from the typed ETag.
  const met = await ana.POST("/v1/contacts/scan", {
    body: { badge: benBadge, event_id: eventId },
  });
  const contact: Schemas["Contact"] = must(met.data, "contact");
  const etag: ContactETag = contact.etag;
  const edited = await ana.PATCH("/v1/contacts/{contact_id}", {
    params: { path: { contact_id: contact.id }, header: { "If-Match": etag } },
    body: { note: "Met at the coffee bar", tags: ["design"] },
  });
  if (edited.error && edited.response.status === 412) {
    const current: string | undefined = edited.error.current_etag;
    void current;
  }

  // A throttled send: the problem's reason is the Reason enum, with Retry-After.
  const sent = await ana.POST("/v1/contacts/{contact_id}/messages", {
    params: { path: { contact_id: contact.id } },
    body: { body: "Did you see my message?", kind: "check_in" },
  });
  if (sent.error && sent.response.status === 429) {
    const problem: Problem = sent.error;
    const retryAfter: RetryAfter | undefined = problem.retry_after;
    const nextAllowedAt: string | null | undefined = problem.next_allowed_at;
    if (isKnownReason(problem.reason)) {
      const reason: Reason = problem.reason;
      void [reason, retryAfter, nextAllowedAt];
    }
  } else if (sent.data) {
    const hints: Schemas["Hint"][] = sent.data.hints;
    void hints;
  }

  // Offline sync: a queued batch, one result per scan.
  const synced = await organizer.POST("/v1/sync/scans", {
    body: {
      scans: [
        {
          client_scan_id: crypto.randomUUID(),
          kind: "check_in",
          event_id: eventId,
          badge: benBadge,
          scanned_at: new Date(now - 300_000).toISOString(),
        },
      ],
    },
  });
  const results: Schemas["SyncResult"][] = must(synced.data, "sync").results;
  const httpStatus: number | undefined = results[0]?.http_status;

  // Stats and the check-in CSV as bytes.
  const stats = await organizer.GET("/v1/events/{event_id}/stats", {
    params: { path: { event_id: eventId }, query: { bucket: 15 } },
  });
  const figures: Schemas["EventStats"] = must(stats.data, "stats");
  const walkIns: number = figures.walk_ins;
  const showUp: number | null = figures.show_up_rate;
  const csv = await organizer.GET("/v1/events/{event_id}/check-ins.csv", {
    params: { path: { event_id: eventId } },
    parseAs: "arrayBuffer",
  });
  const csvBytes: ArrayBuffer = must(csv.data, "csv");

  void [status, pngBytes, checkedIn, httpStatus, walkIns, showUp, csvBytes];
}
