// The local inspector's page script: no framework, no build. Everything that comes from an IPN or a
// request (payloads are attacker-controlled until verified; 401 bodies never are) is put in the page
// as text: through h() below, which appends strings as text nodes, and textContent. Never innerHTML.

const token = document.querySelector('meta[name="okepay-inspector-token"]')?.getAttribute('content') ?? '';
const $ = (id) => document.getElementById(id);
const rowsList = $('rows');
const detail = $('detail');

/** An element with properties and children; strings become text nodes. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const state = {
  tab: 'live',
  /** Live rows, newest first. */
  rows: [],
  failures: [],
  /** What the detail pane shows: { kind: 'ipn', id } or { kind: 'payment', paymentId }. */
  selected: undefined,
};

const timeOf = (iso) => (iso ? iso.slice(11, 23) : '');
const VERDICT_TEXT = {
  accepted: 'accepted',
  duplicate: 'duplicate',
  revision: 'revision',
  'revision-held': 'held',
  rejected: 'rejected',
  unauthorized: '401',
  refused: 'refused',
  unavailable: 'not accepted',
};

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function toast(message, ok = true) {
  const box = $('toast');
  box.textContent = message;
  box.className = `toast show ${ok ? 'ok' : 'bad'}`;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.className = 'toast';
  }, 4000);
}

/** Runs an action: a POST with the page's token; the answer is shown, then the views refresh. */
async function act(name, body, button) {
  if (button) button.disabled = true;
  try {
    const response = await fetch(`/api/actions/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-okepay-inspector-token': token },
      body: JSON.stringify(body ?? {}),
    });
    const result = await response.json();
    const message = result.message ?? result.error ?? `HTTP ${response.status}`;
    toast(message, response.ok && result.ok !== false);
    detail.dataset.lastAction = `${name}: ${message}`;
  } catch (error) {
    toast(`${name} failed: ${error.message}`, false);
  } finally {
    if (button) button.disabled = false;
    refreshSoon();
    refreshDlq();
  }
}

/* ---------- the list ---------- */

function rowElement(row) {
  const amount = row.amount !== undefined ? `${row.amount} ${row.currency ?? ''}`.trim() : '';
  const note =
    row.verdict === 'unauthorized' && row.diagnosis ? row.diagnosis.title : row.reasons ? row.summary : '';
  return h(
    'li',
    {
      class: `row verdict-${row.verdict}`,
      tabindex: 0,
      dataset: { id: String(row.id), paymentId: row.paymentId ?? '', event: row.event ?? '' },
      onclick: () => select({ kind: 'ipn', id: row.id }),
      onkeydown: (event) => {
        if (event.key === 'Enter') select({ kind: 'ipn', id: row.id });
      },
    },
    h('time', { datetime: row.receivedAt, title: row.receivedAt }, timeOf(row.receivedAt)),
    h('span', { class: 'badge' }, VERDICT_TEXT[row.verdict] ?? row.verdict),
    h('span', { class: 'type' }, row.event ?? '(no event)'),
    h('span', { class: 'payment' }, row.paymentId ?? ''),
    h('span', { class: 'amount' }, amount),
    h('span', { class: 'bus', title: 'on the bus' }),
    row.verdict === 'accepted' || row.verdict === 'duplicate'
      ? null
      : h('div', { class: 'summary' }, note || row.summary),
  );
}

function storedRowElement(row) {
  return h(
    'li',
    {
      class: `row stored state-${row.state}`,
      tabindex: 0,
      dataset: { paymentId: row.paymentId ?? '', event: row.event ?? '', sha: row.bodySha256 ?? '' },
      onclick: () =>
        row.paymentId && row.state !== 'rejected'
          ? select({ kind: 'payment', paymentId: row.paymentId })
          : select({ kind: 'rejected', row }),
    },
    h('time', { datetime: row.receivedAt, title: row.receivedAt }, timeOf(row.receivedAt)),
    h('span', { class: 'badge' }, row.state),
    h('span', { class: 'type' }, row.event ?? '(unknown event)'),
    h('span', { class: 'payment' }, row.paymentId ?? ''),
    h('span', { class: 'amount' }, row.revision ? `rev ${row.revision}` : ''),
    row.reasons ? h('div', { class: 'summary' }, row.reasons) : null,
  );
}

function markSelected() {
  for (const item of rowsList.children) {
    const selected =
      (state.selected?.kind === 'ipn' && item.dataset.id === String(state.selected.id)) ||
      (state.selected?.kind === 'payment' &&
        !item.dataset.id &&
        item.dataset.paymentId === state.selected.paymentId);
    item.classList.toggle('selected', selected);
  }
}

function renderRows() {
  if (state.tab === 'live') {
    rowsList.replaceChildren(...state.rows.map(rowElement));
    $('empty').hidden = state.rows.length > 0;
    markSelected();
    return;
  }
  loadStored();
}

async function loadStored() {
  const tab = state.tab;
  try {
    const page = await getJson(tab === 'stored' ? '/api/events' : `/api/events?state=${tab}`);
    if (state.tab !== tab) return;
    rowsList.replaceChildren(...page.rows.map(storedRowElement));
    $('empty').hidden = true;
    if (page.rows.length === 0)
      rowsList.append(
        h('li', { class: 'hint' }, `Nothing ${tab === 'stored' ? 'stored in the last day' : tab}.`),
      );
    markSelected();
  } catch (error) {
    rowsList.replaceChildren(h('li', { class: 'hint' }, `Could not list: ${error.message}`));
  }
}

function addRow(row) {
  state.rows.unshift(row);
  if (state.rows.length > 500) state.rows.length = 500;
  if (state.tab === 'live') {
    rowsList.prepend(rowElement(row));
    if (rowsList.children.length > 500) rowsList.lastElementChild.remove();
    $('empty').hidden = true;
  }
}

function markOnBus(record) {
  if (record.replayId) return;
  for (const item of rowsList.querySelectorAll('li.row')) {
    if (item.dataset.paymentId === record.paymentId && item.dataset.event === record.event) {
      item.classList.add('on-bus');
    }
  }
}

/* ---------- the 401 panel ---------- */

function failureElement(failure) {
  const { diagnosis } = failure;
  return h(
    'li',
    { class: 'failure', dataset: { id: String(failure.id) } },
    h(
      'div',
      { class: 'failure-head' },
      h('time', { title: failure.receivedAt }, timeOf(failure.receivedAt)),
      h('span', { class: 'badge' }, diagnosis.verdict),
      h('strong', {}, diagnosis.title),
    ),
    h('p', {}, diagnosis.explanation),
    h('p', { class: 'fix' }, 'What to do: ', diagnosis.fix),
    h(
      'details',
      {},
      h('summary', {}, `The request (${failure.bodyBytes} bytes${failure.bodyTruncated ? ', cut' : ''})`),
      headersTable(failure.headers),
      h('pre', { class: 'body' }, failure.body),
    ),
  );
}

function renderFailures() {
  $('failures').replaceChildren(...state.failures.map(failureElement));
  $('no-failures').hidden = state.failures.length > 0;
}

/* ---------- the detail pane ---------- */

function headersTable(headers) {
  return h(
    'table',
    { class: 'headers' },
    h(
      'tbody',
      {},
      Object.entries(headers).map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value))),
    ),
  );
}

function button(label, action, body, extra = {}) {
  return h(
    'button',
    {
      type: 'button',
      dataset: { action, ...extra },
      onclick: (event) => act(action, body, event.currentTarget),
    },
    label,
  );
}

async function copyCurl(query, into) {
  try {
    const { curl } = await getJson(`/api/curl?${new URLSearchParams(query)}`);
    into.replaceChildren(h('pre', { class: 'curl' }, curl));
    try {
      await navigator.clipboard.writeText(curl);
      toast('Copied: a curl command signed now with the local secret (valid for the signature tolerance)');
    } catch {
      toast('The curl command is below: select it to copy it');
    }
  } catch (error) {
    toast(`Copy as curl: ${error.message}`, false);
  }
}

function curlButton(query) {
  const place = h('div', { class: 'curl-place' });
  return [
    h(
      'button',
      { type: 'button', dataset: { action: 'curl' }, onclick: () => copyCurl(query, place) },
      'Copy as curl',
    ),
    place,
  ];
}

function section(title, ...children) {
  return h('section', { class: 'block' }, h('h3', {}, title), ...children);
}

/** The verdict of one IPN, and what to do about it. */
function verdictView(exchange) {
  const { row } = exchange;
  const parts = [
    h(
      'header',
      { class: `detail-head verdict-${row.verdict}` },
      h('span', { class: 'badge' }, VERDICT_TEXT[row.verdict] ?? row.verdict),
      h('h2', {}, row.event ?? 'IPN', row.paymentId ? ` · ${row.paymentId}` : ''),
      h('p', { class: 'summary' }, row.summary),
    ),
  ];
  if (row.diagnosis) {
    parts.push(
      section(
        'Why the signature failed (okepay doctor)',
        h('p', {}, h('strong', {}, row.diagnosis.title)),
        h('p', {}, row.diagnosis.explanation),
        h('p', { class: 'fix' }, 'What to do: ', row.diagnosis.fix),
      ),
    );
  }
  if (row.verdict === 'rejected') {
    parts.push(
      section(
        'Rejected: kept, okePay will not resend it',
        h(
          'ul',
          {},
          (row.reasons ?? []).map((reason) => h('li', {}, reason)),
        ),
        h(
          'div',
          { class: 'actions' },
          button('Reprocess (validate again with the current code)', 'reprocess', {
            bodySha256: row.bodySha256,
          }),
        ),
      ),
    );
  }
  return parts;
}

/** The request as received (headers folded), and the answer. */
function exchangeView(exchange) {
  const { row, request, response } = exchange;
  return [
    section(
      `Request: ${request.method} ${request.path}`,
      h(
        'h4',
        {},
        `Raw body (${request.bodyBytes} bytes${request.bodyEncoding === 'base64' ? ', base64: not UTF-8' : ''}${request.bodyTruncated ? ', cut' : ''})`,
      ),
      h('pre', { class: 'body' }, request.body),
      h('div', { class: 'actions' }, curlButton({ ipn: String(row.id) })),
      h(
        'details',
        { class: 'request-headers' },
        h('summary', {}, `Headers (${Object.keys(request.headers).length})`),
        headersTable(request.headers),
      ),
    ),
    section(`Answer: HTTP ${response.status}`, h('pre', { class: 'body' }, response.body)),
  ];
}

function deliveryText(delivery) {
  const target = delivery.target;
  const where =
    target.type === 'http'
      ? `http ${target.url}`
      : target.type === 'file'
        ? `file ${target.path}`
        : target.type;
  return `${delivery.rule} → ${where}: ${delivery.state}${delivery.error ? ` (${delivery.error})` : ''}`;
}

function timelineView(view) {
  if (view.entries.length === 0) {
    return [
      section(`Payment ${view.paymentId}`, h('p', { class: 'hint' }, 'Nothing is stored for this payment.')),
    ];
  }
  const parts = [];
  parts.push(
    section(
      `Payment ${view.paymentId}${view.orderRefs.length ? ` (order ${view.orderRefs.join(', ')})` : ''}`,
      h('div', { class: 'actions' }, button('Replay this payment', 'replay', { paymentId: view.paymentId })),
      h(
        'table',
        { class: 'timeline' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'at'), h('th', {}, 'what'), h('th', {}, 'event'), h('th', {}, 'rev')),
        ),
        h(
          'tbody',
          {},
          view.entries.map((entry) =>
            h(
              'tr',
              { class: `kind-${entry.kind}` },
              h('td', { title: entry.at }, timeOf(entry.at)),
              h('td', {}, entry.text),
              h('td', {}, entry.event ?? ''),
              h('td', {}, entry.revision ?? ''),
            ),
          ),
        ),
      ),
    ),
  );
  parts.push(
    section(
      'Stored events',
      view.events.map((event) => {
        const key = { paymentId: event.paymentId, event: event.event, revision: event.revision };
        return h(
          'article',
          {
            class: `stored-event status-${event.status}`,
            dataset: { event: event.event, revision: String(event.revision) },
          },
          h(
            'p',
            {},
            h('strong', {}, `${event.event} revision ${event.revision}`),
            ' · ',
            h('span', { class: 'status' }, event.status),
            ' · eventId ',
            h('code', {}, event.eventId),
          ),
          h(
            'div',
            { class: 'actions' },
            button('Resend (signed again)', 'resend', key),
            button('Replay this event', 'replay', { paymentId: event.paymentId, event: event.event }),
            event.status === 'held' ? button('Release', 'release', key) : null,
            event.status === 'held' ? button('Discard', 'discard', key) : null,
            curlButton({ paymentId: event.paymentId, event: event.event, revision: String(event.revision) }),
          ),
          h('details', {}, h('summary', {}, 'Body as received'), h('pre', { class: 'body' }, event.body)),
          h(
            'details',
            { class: 'canonical' },
            h(
              'summary',
              {},
              event.canonical.from === 'bus'
                ? 'Canonical event, as the bus took it'
                : 'Canonical event, as the consumer builds it',
            ),
            h('pre', { class: 'body' }, event.canonical.json),
          ),
        );
      }),
    ),
  );
  if (view.bus.length > 0) {
    parts.push(
      section(
        'On the bus: rules matched and deliveries',
        h(
          'table',
          { class: 'bus-events' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', {}, 'at'), h('th', {}, 'event'), h('th', {}, 'rules and deliveries')),
          ),
          h(
            'tbody',
            {},
            view.bus.map((entry) =>
              h(
                'tr',
                { dataset: { busEventId: entry.id, replay: entry.replayId ?? '' } },
                h('td', { title: entry.at }, timeOf(entry.at)),
                h(
                  'td',
                  {},
                  `${entry.event}${entry.revision ? ` rev ${entry.revision}` : ''}`,
                  entry.replayId ? h('div', { class: 'replay' }, `replay ${entry.replayId}`) : null,
                  h('div', { class: 'muted' }, `bus event ${entry.id}`),
                ),
                h(
                  'td',
                  {},
                  entry.deliveries
                    ? h(
                        'ul',
                        { class: 'deliveries' },
                        entry.deliveries.map((d) =>
                          h('li', { class: `delivery ${d.state}` }, deliveryText(d)),
                        ),
                      )
                    : h(
                        'span',
                        {},
                        `rules: ${(entry.rules ?? []).join(', ') || 'none'}`,
                        h('div', { class: 'muted' }, 'deliveries of an earlier run are not known'),
                      ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (view.rejected.length > 0) {
    parts.push(
      section(
        'Rejected bodies that named this payment',
        view.rejected.map((item) =>
          h(
            'article',
            { class: 'rejected' },
            h(
              'p',
              {},
              h('code', {}, item.bodySha256.slice(0, 12)),
              ` · ${item.status} · answered ${item.httpStatus}`,
            ),
            h(
              'ul',
              {},
              item.issues.map((issue) =>
                h('li', {}, issue.path ? `${issue.path}: ${issue.message}` : issue.message),
              ),
            ),
            item.status === 'rejected'
              ? h(
                  'div',
                  { class: 'actions' },
                  button('Reprocess', 'reprocess', { bodySha256: item.bodySha256 }),
                )
              : null,
            h('details', {}, h('summary', {}, 'Body as received'), h('pre', { class: 'body' }, item.body)),
          ),
        ),
      ),
    );
  }
  if (view.unknowns.length > 0) {
    parts.push(
      section(
        'Not known here',
        h(
          'ul',
          {},
          view.unknowns.map((text) => h('li', {}, text)),
        ),
      ),
    );
  }
  parts.push(
    h(
      'details',
      { class: 'cli' },
      h('summary', {}, `As the CLI prints it: npx okepay events show ${view.paymentId} --local --body`),
      h('pre', {}, view.text),
    ),
  );
  return parts;
}

function rejectedStoredView(row) {
  return [
    h(
      'header',
      { class: 'detail-head verdict-rejected' },
      h('span', { class: 'badge' }, 'rejected'),
      h('h2', {}, row.paymentId ?? 'A rejected IPN'),
    ),
    section(
      'Rejected: kept, okePay will not resend it',
      h('p', {}, row.reasons ?? ''),
      h('p', {}, 'Body hash ', h('code', {}, row.bodySha256 ?? '')),
      h(
        'div',
        { class: 'actions' },
        button('Reprocess (validate again with the current code)', 'reprocess', {
          bodySha256: row.bodySha256,
        }),
      ),
    ),
  ];
}

let loading = 0;
async function renderDetail() {
  const selected = state.selected;
  if (!selected) return;
  const ticket = ++loading;
  const open = new Set([...detail.querySelectorAll('details[open] > summary')].map((s) => s.textContent));
  try {
    let parts;
    let key;
    if (selected.kind === 'ipn') {
      const exchange = await getJson(`/api/ipns/${selected.id}`);
      parts = verdictView(exchange);
      key = `ipn:${selected.id}`;
      // A 401's body is not verified: the payment it names may not be the sender's to look at.
      const paymentId = exchange.row.paymentId;
      if (paymentId && exchange.row.status !== 401) {
        parts.push(...timelineView(await getJson(`/api/payments/${encodeURIComponent(paymentId)}`)));
      }
      parts.push(...exchangeView(exchange));
    } else if (selected.kind === 'payment') {
      parts = timelineView(await getJson(`/api/payments/${encodeURIComponent(selected.paymentId)}`));
      key = `payment:${selected.paymentId}`;
    } else {
      parts = rejectedStoredView(selected.row);
      key = `rejected:${selected.row.bodySha256}`;
    }
    if (ticket !== loading) return;
    detail.replaceChildren(...parts);
    for (const summary of detail.querySelectorAll('details > summary')) {
      if (open.has(summary.textContent)) summary.parentElement.open = true;
    }
    detail.dataset.loaded = key;
    detail.dataset.version = String(Number(detail.dataset.version ?? 0) + 1);
  } catch (error) {
    if (ticket === loading)
      detail.replaceChildren(h('p', { class: 'hint' }, `Could not load: ${error.message}`));
  }
}

function select(what) {
  state.selected = what;
  markSelected();
  renderDetail();
}

/** The payment the detail pane is about, if any. */
function shownPayment() {
  const selected = state.selected;
  if (selected?.kind === 'payment') return selected.paymentId;
  if (selected?.kind === 'ipn') return state.rows.find((row) => row.id === selected.id)?.paymentId;
  return undefined;
}

let refreshTimer;
let settleTimer;
/**
 * Refreshes the detail (and a stored list) once a burst of changes is over, and once more a second
 * later: the bus tells the page about an event before the consumer marks it published.
 */
function refreshSoon() {
  const refresh = () => {
    renderDetail();
    if (state.tab !== 'live') loadStored();
  };
  clearTimeout(refreshTimer);
  clearTimeout(settleTimer);
  refreshTimer = setTimeout(refresh, 150);
  settleTimer = setTimeout(refresh, 1000);
}

async function refreshDlq() {
  try {
    const dlq = await getJson('/api/dlq');
    $('dlq-count').textContent = String(dlq.waiting);
    $('redrive').disabled = dlq.waiting === 0;
    $('dlq').title = dlq.latestRedrive
      ? `last redrive: ${dlq.latestRedrive.status}, ${dlq.latestRedrive.moved} moved`
      : 'no redrive yet';
  } catch {
    $('dlq-count').textContent = '?';
  }
}

/* ---------- live updates ---------- */

function connect() {
  const source = new EventSource('/api/stream');
  const connection = $('connection');
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  });
  source.addEventListener('error', () => {
    connection.textContent = 'reconnecting';
    connection.className = 'connection down';
  });
  source.addEventListener('snapshot', (message) => {
    const snapshot = JSON.parse(message.data);
    state.rows = snapshot.rows;
    state.failures = snapshot.signatureFailures;
    renderRows();
    renderFailures();
    if (document.documentElement.dataset.ready !== 'true') {
      // The moment the list is on screen, for bench/inspector.ts.
      performance.mark('inspector-ready');
      document.documentElement.dataset.ready = 'true';
    }
  });
  source.addEventListener('ipn', (message) => {
    const row = JSON.parse(message.data);
    addRow(row);
    if (row.paymentId && row.paymentId === shownPayment()) refreshSoon();
    else if (state.tab !== 'live') refreshSoon();
  });
  source.addEventListener('bus', (message) => {
    const record = JSON.parse(message.data);
    markOnBus(record);
    if (record.paymentId === shownPayment()) refreshSoon();
  });
  source.addEventListener('signature-failure', (message) => {
    state.failures.unshift(JSON.parse(message.data));
    if (state.failures.length > 50) state.failures.length = 50;
    renderFailures();
  });
}

for (const tab of document.querySelectorAll('#tabs button')) {
  tab.addEventListener('click', () => {
    state.tab = tab.dataset.tab;
    for (const other of document.querySelectorAll('#tabs button'))
      other.classList.toggle('active', other === tab);
    renderRows();
  });
}
$('redrive').addEventListener('click', (event) => act('redrive', {}, event.currentTarget));

connect();
refreshDlq();
setInterval(refreshDlq, 10_000);
