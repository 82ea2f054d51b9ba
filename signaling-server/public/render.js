// Puts a view (view.js) on the page. Every element whose visibility depends
// on the state is set here on every render, from the view alone, so no path
// through the app can leave a panel of an earlier state showing.

const SCREEN_PANELS = {
  starting: 'starting',
  home: 'home',
  calling: 'outgoing',
  ringing: 'incoming',
  'in-call': 'in-call',
  ended: 'ended',
};

/** @param {Document} doc */
export function createRenderer(doc) {
  const $ = (id) => {
    const el = doc.getElementById(id);
    if (!el) throw new Error(`#${id} is missing from index.html`);
    return el;
  };
  const el = Object.fromEntries(
    [
      'connection', 'connection-text', 'my-id', 'copy', 'peer-id', 'call', 'notice', 'offline', 'offline-text', 'reclaim',
      'calling-title', 'calling-progress', 'cancel', 'caller', 'accept', 'decline', 'in-call-peer', 'call-status',
      'quality-badge', 'quality-detail', 'sas-text', 'sas-code', 'sas-check', 'mic-state', 'mute', 'end',
      'ended-title', 'ended-reason', 'ended-lasted', 'ended-hint', 'call-again', 'dismiss', 'keys',
    ].map((id) => [id, $(id)]),
  );
  const panels = Object.fromEntries(Object.entries(SCREEN_PANELS).map(([screen, id]) => [screen, $(id)]));
  let lastScreen = null;

  const text = (node, value) => {
    if (node.textContent !== value) node.textContent = value;
  };
  const show = (node, visible) => {
    node.hidden = !visible;
  };

  /** @param {ReturnType<typeof import('./view.js').view>} v */
  return function render(v) {
    for (const [screen, panel] of Object.entries(panels)) show(panel, v.panels[screen]);
    show(el.offline, v.panels.offline);
    doc.body.dataset.shows = v.screen;
    if (doc.title !== v.title) doc.title = v.title;

    el.connection.dataset.tone = v.connection.tone;
    text(el['connection-text'], v.connection.text);
    text(el['my-id'], v.myId);
    el.copy.disabled = !v.copyEnabled;

    el['peer-id'].disabled = !v.home.inputEnabled;
    el.call.disabled = !v.home.callEnabled;
    text(el.notice, v.home.notice);
    show(el.notice, v.home.notice !== '');
    text(el['offline-text'], v.offline.text);
    show(el.reclaim, v.offline.reclaim);

    text(el['calling-title'], v.calling.title);
    text(el['calling-progress'], v.calling.progress);
    text(el.cancel, v.calling.button);

    text(el.caller, v.ringing.caller);
    text(el.accept, v.ringing.accept);
    text(el.decline, v.ringing.decline);

    text(el['in-call-peer'], v.inCall.peer);
    text(el['call-status'], v.inCall.status);
    text(el['quality-badge'], v.inCall.quality.label);
    el['quality-badge'].dataset.tone = v.inCall.quality.tone;
    text(el['quality-detail'], v.inCall.quality.detail);
    show(el['quality-detail'], v.inCall.quality.detail !== '');
    const sas = v.inCall.verification;
    text(el['sas-text'], sas.label);
    text(el['sas-code'], sas.code ?? '');
    show(el['sas-code'], sas.code !== null);
    show(el['sas-check'], sas.check !== null);
    text(el['mic-state'], v.inCall.micLabel);
    text(el.mute, v.inCall.muteLabel);
    el.mute.setAttribute('aria-pressed', String(v.inCall.muted));
    el.mute.disabled = !v.inCall.muteEnabled;
    text(el.end, v.inCall.endLabel);

    text(el['ended-title'], v.ended.title);
    text(el['ended-reason'], v.ended.headline);
    text(el['ended-lasted'], v.ended.lasted);
    show(el['ended-lasted'], v.ended.lasted !== '');
    text(el['ended-hint'], v.ended.hint);
    show(el['ended-hint'], v.ended.hint !== '');
    show(el['call-again'], v.ended.callAgain);
    text(el.dismiss, v.ended.dismiss);
    text(el.keys, v.keys);
    show(el.keys, v.keys !== '');

    // Focus follows the screen, so the keyboard works without a mouse.
    if (v.screen !== lastScreen) {
      lastScreen = v.screen;
      const target = { home: el['peer-id'], calling: el.cancel, ringing: el.accept, 'in-call': el.end, ended: el.dismiss }[v.screen];
      if (target && !target.disabled) target.focus({ preventScroll: true });
    }
  };
}
