// The dashboard page: polls /api/dashboard and redraws every panel. Plain browser script (no
// build step); uPlot is loaded before it as a global.

const POLL_MS = 1500;
const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#db2777', '#4b5563'];
const storeColour = (id) => (id == null ? '#9ca3af' : PALETTE[(id - 1) % PALETTE.length]);
let selectedRegion = null;
let chart = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k === 'title') e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function bytes(n) {
  if (!n) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

const rate = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const age = (ms) => (ms == null ? 'never' : ms < 1000 ? `${ms} ms ago` : `${(ms / 1000).toFixed(1)} s ago`);
const range = (r) => `[${r.start || '−∞'}, ${r.end || '+∞'})`;
const clock = (t) => new Date(t).toLocaleTimeString();

function renderStores(d) {
  const body = document.querySelector('#stores tbody');
  body.replaceChildren(
    ...d.stores.map((s) => {
      const health = s.state === 'Tombstone' ? 'tombstone' : s.down ? 'down' : 'up';
      const swatch = el('i', { class: 'swatch' });
      swatch.style.background = storeColour(s.id);
      return el(
        'tr',
        { 'data-store-id': s.id },
        el('td', { title: s.downLong ? 'down long enough for its replicas to be replaced' : '' }, swatch, s.id),
        el('td', {}, s.address),
        el('td', { class: `health ${health}` }, health),
        el('td', {}, s.state),
        el('td', {}, bytes(s.capacity)),
        el('td', {}, bytes(s.usedSize)),
        el('td', {}, bytes(s.available)),
        el('td', {}, s.regionCount),
        el('td', {}, s.leaderCount),
        el('td', {}, age(s.heartbeatAgeMs)),
      );
    }),
  );
}

function regionDetail(r) {
  return [
    `region ${r.id} ${range(r)}  hex [${r.startHex || ''}, ${r.endHex || ''})`,
    `epoch: conf_ver ${r.epoch.confVer}, version ${r.epoch.version}`,
    `leader: ${r.leaderStore == null ? 'unknown' : `store ${r.leaderStore}`}`,
    `peers: ${r.peers.map((p) => `${p.id}@store ${p.storeId}${p.role === 'Voter' ? '' : ` (${p.role})`}`).join(', ')}`,
    `pending peers: ${r.pendingPeers.length ? r.pendingPeers.join(', ') : 'none'}`,
    `approximate size ${bytes(r.approximateSize)}, keys ${r.approximateKeys || '–'}`,
    `writes ${rate(r.keysWrittenRate)} keys/s, ${bytes(r.bytesWrittenRate)}/s; reads ${rate(r.keysReadRate)} keys/s, ${bytes(r.bytesReadRate)}/s`,
    `last heartbeat ${age(r.heartbeatAgeMs)}`,
  ].join('\n');
}

function renderRegions(d) {
  document.getElementById('region-count').textContent = `(${d.regions.length})`;
  const bar = document.getElementById('keyspace');
  bar.replaceChildren(
    ...d.regions.map((r) => {
      const e = el(
        'div',
        {
          class: `region${r.id === selectedRegion ? ' selected' : ''}`,
          'data-region-id': r.id,
          'data-start': r.start,
          'data-leader-store': r.leaderStore ?? '',
          title: regionDetail(r),
        },
        r.start || '−∞',
      );
      e.style.background = storeColour(r.leaderStore);
      e.addEventListener('click', () => {
        selectedRegion = r.id;
        document.getElementById('region-detail').textContent = regionDetail(r);
        for (const x of bar.children) x.classList.toggle('selected', x === e);
      });
      return e;
    }),
  );
  const sel = d.regions.find((r) => r.id === selectedRegion);
  if (sel) document.getElementById('region-detail').textContent = regionDetail(sel);
  const legend = document.getElementById('legend');
  legend.replaceChildren(
    el('span', { class: 'muted' }, 'leader on:'),
    ...d.stores.map((s) => {
      const i = el('i');
      i.style.background = storeColour(s.id);
      return el('span', {}, i, `store ${s.id}`);
    }),
  );
}

function renderHot(d) {
  const hot = d.regions
    .filter((r) => r.keysWrittenRate > 0 || r.bytesWrittenRate > 0 || r.keysReadRate > 0 || r.bytesReadRate > 0)
    .sort(
      (a, b) =>
        b.keysWrittenRate + b.keysReadRate - (a.keysWrittenRate + a.keysReadRate) ||
        b.bytesWrittenRate + b.bytesReadRate - (a.bytesWrittenRate + a.bytesReadRate),
    )
    .slice(0, 10);
  const body = document.querySelector('#hot tbody');
  body.replaceChildren(
    ...(hot.length
      ? hot.map((r) =>
          el(
            'tr',
            { 'data-region-id': r.id },
            el('td', {}, r.id),
            el('td', { class: 'range' }, range(r)),
            el('td', {}, r.leaderStore == null ? '?' : `store ${r.leaderStore}`),
            el('td', {}, rate(r.keysWrittenRate)),
            el('td', {}, bytes(r.bytesWrittenRate)),
            el('td', { class: 'read-keys' }, rate(r.keysReadRate)),
            el('td', {}, bytes(r.bytesReadRate)),
          ),
        )
      : [el('tr', {}, el('td', { colSpan: 7, class: 'muted' }, 'no traffic'))]),
  );
}

function renderChart(d) {
  const xs = d.samples.map((s) => s.t / 1000);
  const total = d.samples.map((s) => s.regions.reduce((a, r) => a + r.w, 0));
  const data = [xs, total];
  const box = document.getElementById('rate-chart');
  const width = Math.max(300, box.clientWidth || 500);
  if (!chart) {
    chart = new uPlot(
      {
        width,
        height: 180,
        series: [{}, { label: 'keys/s written', stroke: '#2563eb', fill: 'rgba(37,99,235,0.15)' }],
        axes: [{}, { size: 60 }],
      },
      data,
      box,
    );
  } else {
    if (Math.abs(chart.width - width) > 10) chart.setSize({ width, height: 180 });
    chart.setData(data);
  }
}

// Key Visualizer style: rows are the key ranges between every boundary seen in the window, columns
// the samples; a cell takes the rate of the region that covered its range at that moment.
function renderHeatmap(d) {
  const box = document.getElementById('heatmap');
  const samples = d.samples;
  if (samples.length === 0) return;
  const bounds = new Set();
  for (const s of samples) for (const r of s.regions) bounds.add(r.s);
  const rows = [...bounds].sort().slice(0, 64);
  const names = new Map(d.regions.map((r) => [r.startHex, r.start]));
  let max = 0;
  const grid = rows.map((b) =>
    samples.map((s) => {
      const r = s.regions.find((x) => x.s <= b && (x.e === '' || b < x.e));
      const w = r ? r.w : 0;
      if (w > max) max = w;
      return w;
    }),
  );
  box.style.gridTemplateColumns = `90px repeat(${samples.length}, 1fr)`;
  const cells = [];
  rows.forEach((b, i) => {
    cells.push(el('div', { class: 'label', title: b }, b === '' ? '−∞' : (names.get(b) ?? `0x${b}`)));
    for (let j = 0; j < samples.length; j++) {
      const w = grid[i][j];
      const x = max > 0 ? Math.log1p(w) / Math.log1p(max) : 0;
      const c = el('div', { title: `${names.get(b) ?? b}: ${rate(w)} keys/s at ${clock(samples[j].t)}` });
      c.style.background = w > 0 ? `hsl(${50 - 50 * x}, 95%, ${88 - 45 * x}%)` : '#f3f4f6';
      cells.push(c);
    }
  });
  box.replaceChildren(...cells);
}

function renderLists(d) {
  const ops = [
    ...d.operators.inFlight.map((o) =>
      el(
        'li',
        { class: 'in-flight' },
        el('span', { class: 't' }, 'running'),
        `#${o.id} ${o.kind} region ${o.regionId}: ${o.steps.join(', ')} (step ${o.step + 1}/${o.steps.length})`,
      ),
    ),
    ...d.operators.recent.map((o) =>
      el(
        'li',
        { class: `ended-${o.how}` },
        el('span', { class: 't' }, clock(o.endedMs)),
        `#${o.id} ${o.kind} region ${o.regionId} ${o.how}${o.why ? `: ${o.why}` : ''}`,
      ),
    ),
  ];
  document.getElementById('operators').replaceChildren(...(ops.length ? ops : [el('li', { class: 'muted' }, 'none')]));
  const evs = d.events.map((e) => el('li', { class: e.kind }, el('span', { class: 't' }, clock(e.t)), e.text));
  document.getElementById('events').replaceChildren(...(evs.length ? evs : [el('li', { class: 'muted' }, 'none yet')]));
}

async function poll() {
  try {
    const res = await fetch('/api/dashboard', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const d = await res.json();
    document.getElementById('cluster').textContent = `cluster ${d.clusterId}`;
    renderStores(d);
    renderRegions(d);
    renderHot(d);
    renderChart(d);
    renderHeatmap(d);
    renderLists(d);
    document.getElementById('updated').textContent = `updated ${clock(d.now)}`;
  } catch (e) {
    document.getElementById('updated').textContent = `cannot reach the scheduler: ${e.message}`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

void poll();
