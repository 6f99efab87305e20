// Settings → Connect to Linq: the state behind the section, over `/api/linq/*` (docs/API.md).
// Every answer and error from Linq is shown as text; the token is only ever sent, never shown
// back except masked by the engine.
import { ApiError, request } from './api';

export type TokenSource = 'environment' | 'keyring' | 'config_file' | 'none';

export type ApiVersion = 'v3' | 'v2';

export interface LinqStatus {
  api_base: string;
  /** Which of Linq's REST APIs the connection speaks. */
  api_version: ApiVersion;
  /** `location`: one sentence saying where the token lives (keyring, config file, environment). */
  token: { configured: boolean; source: TokenSource; masked: string | null; location: string };
  public_url: string | null;
  webhook_path: string;
  webhook_url: string | null;
  subscription_id: string | null;
  secret_source: string;
  rotatable: boolean;
  grace_secs: number;
  retiring: { expires_at: string }[];
  /** The last test delivery through the saved public address (the self-test), if any. */
  path?: DeliveryReport | null;
  /** The tunnel the app runs for the rep ("Start a tunnel for me"). */
  tunnel?: TunnelStatus;
}

export interface TunnelStatus {
  /** The program "Start a tunnel for me" uses: the running one, else the first on PATH. */
  installed: string | null;
  /** Every tunnel program on PATH (`cloudflared`, `ngrok`). */
  available: string[];
  running: boolean;
  address: string | null;
  restarts: number;
  /** How to install one, `[program, system, command]`, when none is. */
  install: [string, string, string][];
}

export interface Subscription {
  id: string;
  webhook_url: string;
  events: string[];
  active: boolean;
  secret_configured: boolean;
  last_delivered_at: string | null;
  delivery_attempts: number | null;
  /** v3: the lines the subscription is limited to (null: every line). */
  phone_numbers?: string[] | null;
}

/** One of the account's lines (v3). */
export interface Line {
  id: string;
  phone_number: string;
  reputation: string | null;
}

export interface Listing {
  subscriptions: Subscription[];
  current_id: string | null;
  warnings: string[];
}

export type Stage =
  | 'delivered' | 'dns' | 'tls' | 'timeout' | 'connect' | 'signature' | 'path' | 'tunnel' | 'status' | 'not_stored';

export interface DeliveryReport {
  ok: boolean;
  stage: Stage;
  message: string;
  url: string;
  event_id: string;
  status: number | null;
  elapsed_ms: number;
}

export type Action = 'token' | 'connect' | 'list' | 'disconnect' | 'test' | 'rotate' | 'lines' | 'tunnel';

/** Where a failed test delivery stopped, as a short heading. */
export const STAGE_LABEL: Record<Stage, string> = {
  delivered: 'Delivered',
  dns: 'DNS lookup failed',
  tls: 'TLS handshake failed',
  timeout: 'Timed out',
  connect: 'Nothing is listening',
  signature: 'Secret mismatch (401)',
  path: 'Wrong path (404)',
  tunnel: 'Tunnel cannot reach the app',
  status: 'Unexpected answer',
  not_stored: 'Reached another server',
};

/** What to do when the self-test stops at a stage. */
export const STAGE_FIX: Record<Stage, string> = {
  delivered: '',
  dns: 'Is the tunnel running? Free tunnel addresses change on restart: connect again with the new one.',
  tls: 'Use the https:// address the tunnel printed.',
  timeout: 'The tunnel is stuck or stopped: restart it.',
  connect: 'The tunnel is not running: start it, then connect again with its address.',
  signature: 'The tunnel reaches another Linq Inbox: point it at this app.',
  path: 'Use the bare tunnel address; the tunnel must not rewrite paths.',
  tunnel: 'The tunnel runs but cannot reach the app: point it at the app\'s webhook port.',
  status: 'Something else answers at that address: point the tunnel at this app.',
  not_stored: 'Something else answers at that address: point the tunnel at this app.',
};

/** Time left in a grace period, in words: "23 h 59 min", "4 min", "less than a minute". */
export function graceLeft(expiresAt: string, now: Date = new Date()): string | null {
  const end = new Date(expiresAt).getTime();
  if (Number.isNaN(end)) return null;
  const mins = Math.floor((end - now.getTime()) / 60_000);
  if (end <= now.getTime()) return null;
  if (mins < 1) return 'less than a minute';
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

/**
 * Linq's own view of a subscription's deliveries, as one line: v2 answers `last_delivered_at`
 * and `delivery_attempts`; v3 keeps no such counters, which the line says instead of "never".
 */
export function deliveryLine(s: Subscription, version: ApiVersion): string {
  if (version === 'v3' && s.last_delivered_at === null && s.delivery_attempts === null) {
    return 'Linq reports no delivery counts for v3 subscriptions';
  }
  const last = s.last_delivered_at ? `last delivery ${s.last_delivered_at}` : 'no delivery yet';
  if (s.delivery_attempts === null) return last;
  return `${last} · ${s.delivery_attempts} delivery ${s.delivery_attempts === 1 ? 'attempt' : 'attempts'}`;
}

/** "Duplicates" count per URL, for marking rows of a listing (the engine sends the sentences). */
export function duplicateUrls(subs: Subscription[]): Set<string> {
  const seen = new Map<string, number>();
  for (const s of subs) {
    const key = s.webhook_url.replace(/\/+$/u, '').toLowerCase();
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return new Set([...seen].filter(([, n]) => n > 1).map(([k]) => k));
}

export function isDuplicate(dups: Set<string>, s: Subscription): boolean {
  return dups.has(s.webhook_url.replace(/\/+$/u, '').toLowerCase());
}

function message(e: unknown): string {
  if (e instanceof ApiError || e instanceof Error) return e.message;
  return String(e);
}

export class LinqConnect {
  status = $state<LinqStatus | null>(null);
  listing = $state<Listing | null>(null);
  report = $state<DeliveryReport | null>(null);
  /** The account's lines (v3), once asked for; the rep picks which ones to subscribe. */
  lines = $state<Line[] | null>(null);
  /** The action in flight; buttons are disabled while one runs. */
  busy = $state<Action | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);

  /** Runs one action: clears the last error, records the new one as text, never throws. */
  private async run<T>(action: Action, f: () => Promise<T>): Promise<T | null> {
    if (this.busy) return null;
    this.busy = action;
    this.error = null;
    this.notice = null;
    try {
      return await f();
    } catch (e) {
      this.error = message(e);
      return null;
    } finally {
      this.busy = null;
    }
  }

  async load(): Promise<void> {
    try {
      this.status = await request<LinqStatus>('GET', '/api/linq');
    } catch (e) {
      this.error = message(e);
    }
  }

  async saveToken(token: string): Promise<boolean> {
    const trimmed = token.trim();
    if (!trimmed) {
      this.error = 'Paste the integration token from Linq first.';
      return false;
    }
    const s = await this.run('token', () => request<LinqStatus>('PUT', '/api/linq/token', { token: trimmed }));
    if (!s) return false;
    this.status = s;
    this.notice = s.token.source === 'keyring' ? 'Token saved in the system keyring.' : 'Token saved in the config file (readable only by you).';
    return true;
  }

  async forgetToken(): Promise<void> {
    const s = await this.run('token', () => request<LinqStatus>('DELETE', '/api/linq/token'));
    if (s) this.status = s;
  }

  /**
   * Starts the app's own tunnel (`program`: the one the rep picked; `phoneNumbers`: the lines
   * ticked, none to keep the subscription's), then waits (up to 30 s) for it to connect through it.
   */
  async startTunnel(program?: string, phoneNumbers: string[] = []): Promise<boolean> {
    const body = {
      ...(program ? { program } : {}),
      ...(phoneNumbers.length ? { phone_numbers: phoneNumbers } : {}),
    };
    const started = await this.run('tunnel', async () => {
      await request<TunnelStatus>('POST', '/api/linq/tunnel', body);
      for (let i = 0; i < 60; i += 1) {
        const s = await request<LinqStatus>('GET', '/api/linq');
        this.status = s;
        if (s.tunnel?.address && s.subscription_id && s.public_url === s.tunnel.address) return s;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error('The tunnel started but printed no address within 30 seconds; check that it can reach the internet.');
    });
    if (!started) return false;
    this.report = started.path ?? null;
    this.notice = `Connected through the tunnel at ${started.tunnel?.address ?? ''}.`;
    return true;
  }

  async loadLines(): Promise<void> {
    const got = await this.run('lines', () => request<{ lines: Line[] }>('GET', '/api/linq/lines'));
    if (got) this.lines = got.lines;
  }

  /** `phoneNumbers`: the lines to subscribe (v3); empty for every line. */
  async connect(publicUrl: string, phoneNumbers: string[] = []): Promise<boolean> {
    const url = publicUrl.trim();
    if (!url) {
      this.error = 'Enter the https address your tunnel printed.';
      return false;
    }
    const body = phoneNumbers.length ? { public_url: url, phone_numbers: phoneNumbers } : { public_url: url };
    const done = await this.run('connect', () =>
      request<{ subscription: Subscription; created: boolean; webhook_url: string; warnings: string[]; report?: DeliveryReport }>(
        'POST', '/api/linq/connect', body),
    );
    if (!done) return false;
    // The engine checks the path right after connecting.
    this.report = done.report ?? null;
    await this.load();
    await this.refresh();
    if (done.warnings.length && this.listing) this.listing = { ...this.listing, warnings: done.warnings };
    // After the refresh, which starts a new action and clears the last notice.
    this.notice = `${done.created ? 'Created' : 'Updated'} subscription ${done.subscription.id} for ${done.webhook_url}.`;
    return true;
  }

  async refresh(): Promise<void> {
    const listing = await this.run('list', () => request<Listing>('GET', '/api/linq/subscriptions'));
    if (listing) this.listing = listing;
  }

  async disconnect(id: string): Promise<void> {
    const done = await this.run('disconnect', () =>
      request<{ deleted: string }>('DELETE', `/api/linq/subscriptions/${encodeURIComponent(id)}`),
    );
    if (!done) return;
    this.notice = `Deleted subscription ${done.deleted}.`;
    if (this.listing) {
      this.listing = { ...this.listing, subscriptions: this.listing.subscriptions.filter((s) => s.id !== done.deleted) };
      if (this.listing.current_id === done.deleted) this.listing = { ...this.listing, current_id: null };
    }
    await this.load();
  }

  async testDelivery(publicUrl?: string): Promise<void> {
    const body = publicUrl?.trim() ? { public_url: publicUrl.trim() } : {};
    const report = await this.run('test', () => request<DeliveryReport>('POST', '/api/linq/test-delivery', body));
    if (report) this.report = report;
  }

  async rotate(): Promise<void> {
    const done = await this.run('rotate', () =>
      request<{ rotated: { subscription_id: string; previous_accepted_until: string }; status: LinqStatus }>(
        'POST', '/api/linq/rotate', {}),
    );
    if (!done) return;
    this.status = done.status;
    this.notice = `New secret in use by subscription ${done.rotated.subscription_id}; the previous one is still accepted until ${new Date(done.rotated.previous_accepted_until).toLocaleString()}.`;
  }
}
