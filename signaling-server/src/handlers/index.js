// Event name → handler module. Adding a client event = one file + one line
// here (+ a schema in schema.js, unless the handler sets acceptsAnyPayload).
// Anything not in this map is UNKNOWN_EVENT.
import * as offerSdp from './offer_sdp.js';
import * as answerSdp from './answer_sdp.js';
import * as sendIce from './send_ice.js';
import * as ringing from './ringing.js';
import * as callDecline from './call_decline.js';
import * as callHangup from './call_hangup.js';
import * as busy from './busy.js';
import * as sasReveal from './sas_reveal.js';
import * as getIceServers from './get_ice_servers.js';

// A Map (not an object literal) so event names like "__proto__" or
// "constructor" can never resolve to something inherited.
export const handlers = new Map([
  ['offer_sdp', offerSdp],
  ['answer_sdp', answerSdp],
  ['send_ice', sendIce],
  ['ringing', ringing],
  ['call_decline', callDecline],
  ['call_hangup', callHangup],
  ['busy', busy],
  ['sas_reveal', sasReveal],
  ['get_ice_servers', getIceServers],
]);
