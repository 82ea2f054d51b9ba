// ICE server lists with ephemeral TURN credentials, in the "TURN REST API"
// scheme (draft-uberti-behave-turn-rest-00) that coturn implements with
// `use-auth-secret` + `static-auth-secret`:
//
//   username   = "<expiry unix seconds>:<client id>"
//   credential = base64(HMAC-SHA1(shared secret, username))
//
// coturn recomputes the credential from the username and its copy of the
// secret and refuses it once the expiry has passed, so the signaling server
// and the TURN server only ever share that one secret: no user database, and
// a leaked credential dies on its own.
//
// The expiry is rounded up to a step of half the TTL (at least 30 s). Every
// credential an ID gets within one step is the same username, so coturn's
// `user-quota` (allocations per username) bounds what one ID can hold: at
// any moment at most ceil(TTL / step) + 1 = 3 of its usernames are valid,
// however often it asks. The issued credential is valid for at least
// TURN_TTL_SECONDS (what `ttl` says) and at most one step longer.

import { createHmac } from 'node:crypto';

/** base64(HMAC-SHA1(secret, username)) — coturn's use-auth-secret password. */
export function turnCredential(secret, username) {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/**
 * @param {object} opts
 * @param {string|null} opts.secret shared with coturn's static-auth-secret
 * @param {readonly string[]} opts.turnUrls
 * @param {readonly string[]} opts.stunUrls
 * @param {number} opts.ttlSeconds credential lifetime
 * @param {() => number} [opts.now] clock in ms, injectable for tests
 */
export function createIceServerIssuer({ secret, turnUrls, stunUrls, ttlSeconds, now = Date.now }) {
  const withTurn = Boolean(secret) && turnUrls.length > 0;
  const step = Math.max(30, Math.floor(ttlSeconds / 2));

  return {
    /**
     * The `ice_servers` payload for one client. `ttl` is how many seconds
     * the credentials stay valid; 0 means there is nothing that expires.
     * @param {string} clientId
     * @returns {{ iceServers: Array<{urls: string[], username?: string, credential?: string}>, ttl: number }}
     */
    issue(clientId) {
      const iceServers = [];
      if (stunUrls.length) iceServers.push({ urls: [...stunUrls] });
      if (!withTurn) return { iceServers, ttl: 0 };
      const expiry = Math.ceil((Math.floor(now() / 1000) + ttlSeconds) / step) * step;
      // The client id in the username lets coturn's logs (and quotas, with
      // user-quota) be attributed to a client without any lookup.
      const username = `${expiry}:${clientId}`;
      iceServers.push({ urls: [...turnUrls], username, credential: turnCredential(secret, username) });
      return { iceServers, ttl: ttlSeconds };
    },
  };
}
