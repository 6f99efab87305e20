import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinqConnect, deliveryLine, duplicateUrls, graceLeft, isDuplicate, type LinqStatus, type Subscription } from './linqConnect.svelte';

type Answer = { status?: number; body: unknown };

/** A fake `/api/linq/*`: answers `METHOD path` from a table of queues and records each request. */
function fakeApi(routes: Record<string, Answer[]>) {
  const calls: { method: string; url: string; body: unknown }[] = [];
  vi.stubGlobal('fetch', vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const url = String(input);
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const next = routes[`${method} ${url}`]?.shift();
    if (!next) return new Response('{"error":"not found"}', { status: 404 });
    return new Response(JSON.stringify(next.body), { status: next.status ?? 200, headers: { 'Content-Type': 'application/json' } });
  }));
  return calls;
}

const status = (over: Partial<LinqStatus> = {}): LinqStatus => ({
  api_base: 'https://api.linqapp.com',
  api_version: 'v3',
  token: { configured: true, source: 'config_file', masked: 'lq_t…0123', location: 'The token is kept in /tmp/d/config.toml, readable only by you (mode 0600): no unlocked system keyring took it when it was saved.' },
  public_url: 'https://t.example', webhook_path: '/webhooks/linq', webhook_url: 'https://t.example/webhooks/linq',
  subscription_id: '100', secret_source: 'config_file', rotatable: true, grace_secs: 86400, retiring: [],
  ...over,
});

const sub = (id: string, url: string): Subscription => ({
  id, webhook_url: url, events: [], active: true, secret_configured: true, last_delivered_at: null, delivery_attempts: 0,
});

describe('Connect to Linq state', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends the trimmed token and keeps only the masked status', async () => {
    const calls = fakeApi({ 'PUT /api/linq/token': [{ body: status() }] });
    const linq = new LinqConnect();
    expect(await linq.saveToken('  lq_test_token_0123  ')).toBe(true);
    expect(calls[0]?.body, 'the token is sent trimmed').toEqual({ token: 'lq_test_token_0123' });
    expect(linq.status?.token.masked).toBe('lq_t…0123');
    expect(linq.notice).toContain('config file');
    expect(JSON.stringify(linq), 'the store never holds the full token').not.toContain('lq_test_token_0123');
  });

  it('refuses an empty token or URL without calling the API', async () => {
    const calls = fakeApi({});
    const linq = new LinqConnect();
    expect(await linq.saveToken('   ')).toBe(false);
    expect(linq.error).toMatch(/token/u);
    expect(await linq.connect('')).toBe(false);
    expect(linq.error).toMatch(/https address/u);
    expect(calls).toHaveLength(0);
  });

  it('shows Linq\'s sentence when connecting fails, and clears it on the next success', async () => {
    fakeApi({
      'POST /api/linq/connect': [
        { status: 502, body: { error: 'Linq refused the request: webhook_url must use HTTPS' } },
        { body: { subscription: sub('100', 'https://t.example/webhooks/linq'), created: true, webhook_url: 'https://t.example/webhooks/linq', warnings: ['2 subscriptions point at https://t.example/webhooks/linq (100, 7)'] } },
      ],
      'GET /api/linq': [{ body: status() }],
      'GET /api/linq/subscriptions': [{ body: { subscriptions: [sub('100', 'https://t.example/webhooks/linq'), sub('7', 'https://t.example/webhooks/linq/')], current_id: '100', warnings: [] } }],
    });
    const linq = new LinqConnect();
    expect(await linq.connect('https://t.example')).toBe(false);
    expect(linq.error).toBe('Linq refused the request: webhook_url must use HTTPS');
    expect(linq.busy, 'a failed action frees the buttons').toBeNull();
    expect(await linq.connect('https://t.example')).toBe(true);
    expect(linq.error).toBeNull();
    expect(linq.notice).toBe('Created subscription 100 for https://t.example/webhooks/linq.');
    expect(linq.status?.subscription_id).toBe('100');
    expect(linq.listing?.warnings, 'the duplicate warning from connect is shown').toHaveLength(1);
    const dups = duplicateUrls(linq.listing?.subscriptions ?? []);
    expect(linq.listing?.subscriptions.every((s) => isDuplicate(dups, s)), 'a trailing slash is the same URL').toBe(true);
  });

  it('lists the lines and subscribes only the chosen ones, showing the path check', async () => {
    const report = { ok: true, stage: 'delivered', message: 'delivered', url: 'https://t.example/webhooks/linq', event_id: 'test-2', status: 200, elapsed_ms: 40 };
    const calls = fakeApi({
      'GET /api/linq/lines': [{ body: { lines: [{ id: 'a', phone_number: '+15550100001', reputation: 'HEALTHY' }, { id: 'b', phone_number: '+15550100002', reputation: null }] } }],
      'POST /api/linq/connect': [{ body: { subscription: sub('s1', 'https://t.example/webhooks/linq?version=2026-02-03'), created: true, webhook_url: 'https://t.example/webhooks/linq?version=2026-02-03', warnings: [], report } }],
      'GET /api/linq': [{ body: status() }],
      'GET /api/linq/subscriptions': [{ body: { subscriptions: [], current_id: 's1', warnings: [] } }],
    });
    const linq = new LinqConnect();
    await linq.loadLines();
    expect(linq.lines?.map((l) => l.phone_number)).toEqual(['+15550100001', '+15550100002']);
    expect(await linq.connect('https://t.example', ['+15550100002'])).toBe(true);
    expect(calls.find((c) => c.method === 'POST')?.body, 'the chosen line is sent').toEqual({ public_url: 'https://t.example', phone_numbers: ['+15550100002'] });
    expect(linq.report?.stage, 'the check after connecting is shown').toBe('delivered');
    expect(await linq.connect('https://t.example')).toBe(false);
    expect(calls.filter((c) => c.method === 'POST')[1]?.body, 'no line chosen: every line, no key').toEqual({ public_url: 'https://t.example' });
  });

  it('starts the tunnel the rep picked with the ticked lines, and says which one runs', async () => {
    const tunnel = { installed: 'ngrok', available: ['cloudflared', 'ngrok'], running: true, address: 'https://ab12.ngrok-free.app', restarts: 0, install: [] };
    const calls = fakeApi({
      'POST /api/linq/tunnel': [{ status: 202, body: tunnel }],
      'GET /api/linq': [{ body: status({ public_url: tunnel.address, tunnel }) }],
    });
    const linq = new LinqConnect();
    expect(await linq.startTunnel('ngrok', ['+15550100002'])).toBe(true);
    expect(calls[0]?.body, 'the program and the lines go with the request').toEqual({ program: 'ngrok', phone_numbers: ['+15550100002'] });
    expect(linq.notice).toContain('ab12.ngrok-free.app');
    expect(linq.status?.tunnel?.installed, 'Setup names the program in use').toBe('ngrok');
  });

  it('starts the tunnel with an empty request when nothing is picked (the subscription keeps its lines)', async () => {
    const tunnel = { installed: 'cloudflared', available: ['cloudflared'], running: true, address: 'https://calm.trycloudflare.com', restarts: 0, install: [] };
    const calls = fakeApi({
      'POST /api/linq/tunnel': [{ status: 202, body: tunnel }],
      'GET /api/linq': [{ body: status({ public_url: tunnel.address, tunnel }) }],
    });
    expect(await new LinqConnect().startTunnel()).toBe(true);
    expect(calls[0]?.body, 'nothing chosen: nothing sent, nothing reset').toEqual({});
  });

  it('keeps the test delivery report, failed or not', async () => {
    const calls = fakeApi({
      'POST /api/linq/test-delivery': [{ body: { ok: false, stage: 'path', message: 'the public URL answered 404', url: 'https://t.example/x/webhooks/linq', event_id: 'test-1', status: 404, elapsed_ms: 12 } }],
    });
    const linq = new LinqConnect();
    await linq.testDelivery();
    expect(calls[0]?.body, 'no URL: the saved one is used').toEqual({});
    expect(linq.report?.stage).toBe('path');
    expect(linq.report?.ok).toBe(false);
    expect(linq.error, 'a failed delivery is a report, not an API error').toBeNull();
  });

  it('shows the grace period after a rotation', async () => {
    const until = new Date(Date.now() + 86_400_000).toISOString();
    fakeApi({
      'POST /api/linq/rotate': [{ body: { rotated: { subscription_id: '100', previous_accepted_until: until }, status: status({ retiring: [{ expires_at: until }] }) } }],
    });
    const linq = new LinqConnect();
    await linq.rotate();
    expect(linq.status?.retiring).toHaveLength(1);
    expect(linq.notice).toContain('still accepted until');
  });

  it('removes a deleted subscription from the list', async () => {
    fakeApi({
      'DELETE /api/linq/subscriptions/7': [{ body: { deleted: '7' } }],
      'GET /api/linq': [{ body: status() }],
    });
    const linq = new LinqConnect();
    linq.listing = { subscriptions: [sub('100', 'https://a/x'), sub('7', 'https://b/x')], current_id: '100', warnings: [] };
    await linq.disconnect('7');
    expect(linq.listing?.subscriptions.map((s) => s.id)).toEqual(['100']);
    expect(linq.listing?.current_id).toBe('100');
  });

  it('shows Linq\'s own view of the deliveries: v2 counters, and says v3 has none', () => {
    const v2 = { ...sub('7', 'https://t.example/webhooks/linq'), last_delivered_at: '2026-12-04T10:00:00Z', delivery_attempts: 12 };
    expect(deliveryLine(v2, 'v2')).toBe('last delivery 2026-12-04T10:00:00Z · 12 delivery attempts');
    expect(deliveryLine({ ...v2, last_delivered_at: null, delivery_attempts: 1 }, 'v2')).toBe('no delivery yet · 1 delivery attempt');
    const v3 = { ...v2, last_delivered_at: null, delivery_attempts: null };
    expect(deliveryLine(v3, 'v3'), 'v3 answers no counters: never shown as "no delivery yet"').toMatch(/no delivery counts for v3/u);
    expect(deliveryLine(v3, 'v2')).toBe('no delivery yet');
  });

  it('counts down the grace period in words', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(graceLeft('2026-01-02T00:00:00Z', now)).toBe('24 h 0 min');
    expect(graceLeft('2026-01-01T00:04:30Z', now)).toBe('4 min');
    expect(graceLeft('2026-01-01T00:00:30Z', now)).toBe('less than a minute');
    expect(graceLeft('2025-12-31T23:00:00Z', now), 'an expired secret shows nothing').toBeNull();
    expect(graceLeft('garbage', now)).toBeNull();
  });
});
