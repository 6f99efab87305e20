// The UI API's JSON shapes (docs/API.md). Every shape the engine serializes from a Rust type is
// generated from that type into `types.generated.ts` (`make ui-types`; the engine's tests fail
// when the two drift) and re-exported here. What follows by hand has no Rust type of its own:
// the status answer, which the engine assembles as a JSON object.

import type { NumberHealth, SyncStatus } from './types.generated';

export * from './types.generated';

export interface Status {
  version: string;
  listener: { address: string; path: string; url: string };
  ui: { address: string };
  signing: {
    mode: 'secret' | 'unsigned' | string;
    secret_count: number;
    secret_source: string;
    allow_unsigned: boolean;
    /** Per configured secret: `standard_webhooks` (whsec_, API v3), `shared` (v2), or
     * `malformed_standard` (whsec_ without valid base64 after it). */
    secret_kinds?: ('standard_webhooks' | 'shared' | 'malformed_standard' | string)[];
  };
  db: {
    path: string;
    size_bytes: number;
    counts: { events: number; chats: number; messages: number; calls: number; contacts: number; rejected: number };
  };
  last_event_at: string | null;
  rejected_count: number;
  /** Refused deliveries not recorded because the writer was saturated, since the app started. */
  rejected_dropped?: number;
  store: { ok: boolean; error: string | null };
  /** The last row committed to the raw log, and the last the projector folded into the inbox. */
  log_seq?: number;
  projected_seq?: number;
  /** `history_through`: the log's last row when the inbox was made again beside it (0: never);
   * while `projected_seq` is below it, the inbox is being derived again from the log. */
  projection?: { lag: number; max_lag: number; failed: number; history_through?: number };
  typing_retention_hours?: number;
  /** The health of the rep's numbers, as Linq last reported it (API v3). */
  numbers?: NumberHealth[];
  /** Attachments kept in the data folder: the limits (bytes) and how the folder stands. */
  attachments?: {
    max_file_bytes: number;
    max_total_bytes: number;
    used_bytes: number;
    downloaded: number;
    pending: number;
    failed: number;
  };
  /** The last catch-up pass through Linq's REST API, with its progress while it runs. */
  sync?: SyncStatus;
}

/** `GET/PUT /api/start-at-login`: `available` only in the desktop app. */
export interface StartAtLogin {
  available: boolean;
  enabled: boolean;
}
