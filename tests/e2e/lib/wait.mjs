// @ts-check
/** Polls `fn` until it returns a truthy value (returned) or the time is up (throws with `what`). */
export async function eventually(/** @type {() => Promise<any> | any} */ fn, what = 'condition', timeout = 5000, step = 25) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, step));
  }
}
