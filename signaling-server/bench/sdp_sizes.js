// What a legitimate client sends, in bytes: a real Chromium audio offer
// (fake microphone, loopback only), once as the web client and the native
// client trickle it (no candidates) and once as the seed client sends it
// (after full gathering, every candidate in the SDP), each as the frame
// the server reads: seed format (the payload a JSON string holding the
// JSON of an RTCSessionDescription) and object format. Candidates on a
// loopback-only machine are few, so the seed row is also given with 20
// candidates of the longest form Chromium writes (a many-interface host
// with IPv6, VPN and container bridges plus srflx and relay), the worst
// case the payload limit has to hold. These numbers justify the defaults
// of MAX_PAYLOAD_BYTES and the byte budgets (PROTOCOL.md, Limits).
//
//   node bench/sdp_sizes.js [--write-fixture]
//
// --write-fixture saves the worst-case offer as
// test/fixtures/chromium_offer_20_candidates.sdp (the tests of the default
// limits relay it).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, writeToneWav } from '../test/browser/chromium.js';

const dir = mkdtempSync(join(tmpdir(), 'vc-sdp-sizes-'));
const wav = join(dir, 'tone.wav');
writeToneWav(wav, { seconds: 1 });
const { browser, close } = await launchChromium({ wav });
try {
  const page = await browser.newPage();
  const got = await page.evaluate(async () => {
    // A microphone-like track without getUserMedia (about:blank is no
    // secure context): the offer is the same as with a microphone.
    const ctx = new AudioContext();
    const stream = ctx.createMediaStreamDestination().stream;
    const pc = new RTCPeerConnection({ iceServers: [] });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    const candidates = [];
    const done = new Promise((resolve) => {
      pc.onicecandidate = (e) => (e.candidate ? candidates.push(e.candidate.toJSON()) : resolve());
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await done;
    const answerer = new RTCPeerConnection({ iceServers: [] });
    await answerer.setRemoteDescription(pc.localDescription);
    const answer = await answerer.createAnswer();
    return { trickled: offer.sdp, gathered: pc.localDescription.sdp, answer: answer.sdp, candidates };
  });
  const id = 'a'.repeat(32);
  const callId = 'c'.repeat(36);
  const seedFrame = (sdp, type = 'offer') =>
    `42${JSON.stringify(['offer_sdp', JSON.stringify({ targetClientId: id, callId, sdp: JSON.stringify({ type, sdp }) })])}`;
  const objectFrame = (sdp, type = 'offer') =>
    `42${JSON.stringify(['offer_sdp', { targetClientId: id, callId, sasCommit: 'f'.repeat(64), sdp: { type, sdp } }])}`;
  const iceFrame = (c) => `42${JSON.stringify(['send_ice', { targetClientId: id, callId, ...c }])}`;
  // The longest candidate line Chromium writes: an IPv6 relay candidate
  // with a related address, ufrag and network cost.
  const longCandidate =
    'a=candidate:3066446372 1 udp 25108223 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 61234 typ relay raddr 2001:db8:ffff:ffff:ffff:ffff:ffff:fffe rport 61233 generation 0 ufrag AbCd network-id 3 network-cost 50';
  const withCandidates = (sdp, n) => sdp.replace(/\r\na=ice-ufrag/, `${`\r\n${longCandidate}`.repeat(n)}\r\na=ice-ufrag`);
  const worst = withCandidates(got.gathered, 20);
  if (process.argv.includes('--write-fixture')) writeFileSync(new URL('../test/fixtures/chromium_offer_20_candidates.sdp', import.meta.url), worst);
  const bytes = (s) => Buffer.byteLength(s);
  const rows = [
    ['offer, trickled (web and native client)', got.trickled],
    ['answer, trickled', got.answer],
    [`offer after full gathering (seed client; ${got.candidates.length} candidates here)`, got.gathered],
    ['offer after full gathering, 20 long candidates (worst case)', worst],
  ];
  console.log('| what | SDP bytes | frame, seed format | frame, object format |');
  console.log('|---|---|---|---|');
  for (const [what, sdp] of rows) console.log(`| ${what} | ${bytes(sdp)} | ${bytes(seedFrame(sdp))} | ${bytes(objectFrame(sdp))} |`);
  const ice = got.candidates.map((c) => bytes(iceFrame(c)));
  const longIce = bytes(iceFrame({ candidate: longCandidate.slice(2), sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'AbCd' }));
  console.log(`| send_ice frame (${ice.length} here) | — | ${ice.length ? `${Math.min(...ice)}–${Math.max(...ice)}` : '—'} | longest form: ${longIce} |`);
} finally {
  await close();
  rmSync(dir, { recursive: true, force: true });
}
