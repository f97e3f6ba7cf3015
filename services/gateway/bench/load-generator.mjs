// The load generator of `npm run bench:check`, forked by check-bench.mjs so the client's CPU is
// not the server's event loop. Open loop: request i leaves at t0 + i / rate whether or not earlier
// ones were answered, and its latency is counted from that scheduled instant, so a stalled server
// (or a stalled generator) shows up as latency instead of being hidden (coordinated omission).
// Sends only the benign generated images it is given; never reads anything else.

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { uniqueChunks } from './unique-bytes.mjs';

/** A request not answered within this is counted as an error, not waited on forever. */
const REQUEST_TIMEOUT_MS = 30_000;
/** After the last scheduled request, answers are awaited this long at most. */
const DRAIN_TIMEOUT_MS = 60_000;

let target;
let images = [];
let matchImages = [];
let runs = 0;
// One keep-alive pool for the whole process: connections stay open between runs, like a hosting
// product's upload service talking to its gateway. No socket cap: an open-loop client opens
// another connection rather than queue behind a slow answer.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
let socketsOpened = 0;

process.on('message', (message) => {
  if (message.type === 'init') {
    target = new URL(message.url);
    target.token = message.token;
    target.tenant = message.tenant;
    images = message.images.map((file) => readFileSync(file));
    matchImages = message.matchImages;
    process.send({ type: 'ready' });
  } else if (message.type === 'run') {
    run(message).then(
      (result) => process.send({ type: 'result', id: message.id, result }),
      (err) => process.send({ type: 'failed', id: message.id, message: err instanceof Error ? err.stack : String(err) }),
    );
  } else if (message.type === 'stop') {
    agent.destroy();
    process.disconnect();
  }
});

/**
 * Bytes for request i: a match image every `matchEvery` requests, the other images in turn
 * otherwise. With `unique`, a JPEG comment segment carrying a counter goes right after SOI, so
 * every request's SHA-256 differs and the gateway must decode and hash it; the pixels (and so the
 * perceptual hashes) stay those of the image. Returned as chunks: the image itself is not copied.
 */
function bodyFor(i, spec) {
  const benign = images.length - matchImages.length;
  let index;
  if (spec.matchEvery > 0 && i % spec.matchEvery === 0) {
    index = matchImages[(i / spec.matchEvery) % matchImages.length];
  } else {
    const k = i - (spec.matchEvery > 0 ? Math.floor(i / spec.matchEvery) + 1 : 0);
    index = nonMatchIndex(((k % benign) + benign) % benign);
  }
  const image = images[index];
  if (!spec.unique) return { chunks: [image], length: image.length, index };
  const chunks = uniqueChunks(image, `${process.pid} ${spec.id} ${i}`);
  return { chunks, length: chunks.reduce((sum, c) => sum + c.length, 0), index };
}

function nonMatchIndex(k) {
  let seen = -1;
  for (let index = 0; index < images.length; index++) {
    if (matchImages.includes(index)) continue;
    if (++seen === k) return index;
  }
  throw new Error('no non-matching image');
}

function send(i, scheduled, spec, record) {
  const { chunks, length, index } = bodyFor(i, spec);
  const sentAt = performance.now();
  const req = request({
    agent,
    host: target.hostname,
    port: target.port,
    method: 'POST',
    path: `/v1/check?tenant=${encodeURIComponent(target.tenant)}`,
    headers: {
      authorization: `Bearer ${target.token}`,
      'content-type': 'image/jpeg',
      'content-length': String(length),
    },
    timeout: REQUEST_TIMEOUT_MS,
  });
  req.on('socket', (socket) => {
    if (!socket.benchSeen) {
      socket.benchSeen = true;
      socketsOpened++;
    }
  });
  let settled = false;
  const finish = (outcome) => {
    if (settled) return;
    settled = true;
    const done = performance.now();
    record({ i, index, scheduled, sendLagMs: sentAt - scheduled, latencyMs: done - scheduled, serviceMs: done - sentAt, done, ...outcome });
  };
  req.on('response', (res) => {
    const parts = [];
    res.on('data', (chunk) => parts.push(chunk));
    res.on('end', () => {
      let body = null;
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch {
        // Non-JSON answers are counted by status alone.
      }
      finish({ status: res.statusCode, body });
    });
    res.on('error', (err) => finish({ status: 0, error: err.message }));
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
  req.on('error', (err) => finish({ status: 0, error: err.message }));
  for (let c = 0; c < chunks.length - 1; c++) req.write(chunks[c]);
  req.end(chunks.at(-1));
}

/** One run: warm-up (answered, discarded), then the measured window, then the drain. */
async function run(spec) {
  runs++;
  const interval = 1000 / spec.rate;
  const warmupCount = Math.round(spec.warmupSeconds * spec.rate);
  const measuredCount = Math.round(spec.seconds * spec.rate);
  const total = warmupCount + measuredCount;
  const socketsBefore = socketsOpened;
  const measured = [];
  let outstanding = 0;
  let allSent = false;
  let drained;
  const drainedPromise = new Promise((resolve) => (drained = resolve));
  const record = (r) => {
    outstanding--;
    if (r.i >= warmupCount) measured.push(r);
    if (allSent && outstanding === 0) drained();
  };

  const t0 = performance.now() + 20;
  const windowStart = t0 + warmupCount * interval;
  const windowEnd = t0 + total * interval;
  let i = 0;
  let announcedStart = false;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!announcedStart && now >= windowStart) {
        announcedStart = true;
        process.send({ type: 'measuring', id: spec.id });
      }
      // Everything due is sent now, at its own scheduled time as the latency origin.
      while (i < total && t0 + i * interval <= now) {
        outstanding++;
        send(i, t0 + i * interval, spec, record);
        i++;
      }
      if (i >= total) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const lastScheduled = performance.now();
  process.send({ type: 'window-end', id: spec.id });
  allSent = true;
  if (outstanding > 0) {
    const timer = setTimeout(drained, DRAIN_TIMEOUT_MS);
    await drainedPromise;
    clearTimeout(timer);
  }
  const lastDone = measured.reduce((max, r) => Math.max(max, r.done), windowStart);
  return {
    run: runs,
    rate: spec.rate,
    unique: spec.unique,
    warmup: warmupCount,
    scheduled: measuredCount,
    answered: measured.length,
    unanswered: measuredCount - measured.length,
    windowMs: windowEnd - windowStart,
    sendWindowMs: lastScheduled - windowStart,
    // From the first scheduled send of the window to the last answer of it.
    spanMs: lastDone - windowStart,
    socketsOpened: socketsOpened - socketsBefore,
    requests: measured.map((r) => ({
      // Wall clock (epoch ms) of the scheduled send: comparable with the server process's clock.
      at: performance.timeOrigin + r.scheduled,
      latencyMs: r.latencyMs,
      serviceMs: r.serviceMs,
      sendLagMs: r.sendLagMs,
      status: r.status,
      image: r.index,
      ...(r.error !== undefined && { error: r.error }),
      ...(r.body?.verdict !== undefined && { verdict: r.body.verdict, reused: r.body.reused, timings: r.body.timings }),
      ...(r.body?.error?.code !== undefined && { code: r.body.error.code }),
    })),
  };
}
