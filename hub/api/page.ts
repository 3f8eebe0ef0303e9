/**
 * The plain dashboard at `/`: no framework, no build step. It polls /api/v1/stats and
 * renders with textContent only (names come from the registry, never as HTML). Where a rate is
 * shown (the networked and networking-rate cards, each region and industry row) it marks the
 * anomaly of docs/statistics.md "What is counted": machines beyond the ledgers, not counted.
 * The Vue + ECharts web app replaces it later; this page stays as the no-JS-build fallback.
 *
 * The API needs a bearer token. The page takes one from `#token=…` only (what `wanji demo`
 * prints; a fragment never reaches a server or its logs), removes it from the address bar and
 * keeps it in sessionStorage (this tab only, gone when it closes); without one, or when it is
 * refused, it asks for one. A `?token=` in the query is not used: the page removes it and asks.
 *
 * Its one style and one script are inline and allowed by their hashes in DASHBOARD_CSP
 * (api/headers.ts sends it), so the page runs no other script.
 */
import { createHash } from 'node:crypto';

export const DASHBOARD_REFRESH_MS = 5_000;

const STYLE = `
  body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5rem; color: #1d2733; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  .cards { display: flex; gap: 1rem; flex-wrap: wrap; }
  .card { border: 1px solid #d5dde6; border-radius: 6px; padding: .8rem 1.2rem; min-width: 12rem; }
  .card .n { font-size: 2rem; font-weight: 600; }
  .card .l { color: #5b6b7b; font-size: .9rem; }
  progress { width: 100%; }
  table { border-collapse: collapse; width: 100%; max-width: 70rem; }
  th, td { border-bottom: 1px solid #e3e8ee; padding: .3rem .6rem; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  th { font-weight: 600; font-size: .85rem; color: #3c4a58; }
  #status { color: #8a96a3; font-size: .8rem; margin-top: 1rem; }
  #status.err { color: #b3261e; }
  #login { display: none; border: 1px solid #d5dde6; border-radius: 6px; padding: .8rem 1.2rem; margin-bottom: 1rem; max-width: 40rem; }
  #login input { width: 100%; font-family: monospace; margin: .4rem 0; }
  .warn { color: #b3261e; }
  .card .warn { font-size: .85rem; margin-top: .4rem; max-width: 24rem; }
  .mark { color: #b3261e; font-weight: 600; margin-left: .3rem; }
  tr.warn td:first-child { font-weight: 600; }
`;

const SCRIPT = `
(function () {
  var COLUMNS = [
    ['name', '名称 Name'],
    ['enterprises', '企业 Enterprises'],
    ['networked', '联网 Networked'],
    ['online', '在线 Online'],
    ['productionEquipment', '申报生产设备 Declared equipment'],
    ['ncEquipment', '申报数控设备 Declared NC'],
    ['networkingRate', '设备联网率 Networking rate'],
    ['ncRate', '数控化率 NC rate'],
    ['backbone', '骨干达标 Backbone meeting target'],
    ['anomaly', '超出台账 Beyond the ledgers']
  ];
  var MARK = '⚠';
  var MARK_TITLE = '设备超出申报台账：台账过时，或设备为虚报 More machines than declared: ' +
    'an out-of-date ledger, or invented machines (not counted)';
  // The anomaly of docs/statistics.md "What is counted": machines measured beyond the ledgers
  // (never counted) and the enterprises that have them. Shown wherever a rate is shown.
  function exceeds(g) { return g.enterprisesExceedingLedger > 0 || g.beyondLedger > 0; }
  function anomaly(g) {
    if (!exceeds(g)) return '–';
    return MARK + ' ' + num(g.enterprisesExceedingLedger) + ' 家企业 enterprises · ' +
      num(g.beyondLedger) + ' 台未计入 not counted';
  }
  function mark(el, on) {
    el.replaceChildren();
    el.hidden = !on;
    if (!on) return;
    var m = document.createElement('span');
    m.className = 'mark';
    m.title = MARK_TITLE;
    m.textContent = MARK;
    el.appendChild(m);
  }
  function pct(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(1) + ' %'; }
  function num(n) { return typeof n === 'number' ? n.toLocaleString('zh-CN') : '–'; }
  function cell(row, key) {
    if (key === 'name') return row.nameZh + ' ' + row.nameEn;
    if (key === 'networkingRate' || key === 'ncRate') return pct(row[key]);
    if (key === 'backbone') return row.backboneMeetingTarget + ' / ' + row.backboneEnterprises;
    if (key === 'anomaly') return anomaly(row);
    return num(row[key]);
  }
  function table(id, rows) {
    var t = document.getElementById(id);
    t.replaceChildren();
    var head = t.insertRow();
    COLUMNS.forEach(function (c) { var th = document.createElement('th'); th.textContent = c[1]; head.appendChild(th); });
    rows.forEach(function (row) {
      var tr = t.insertRow();
      var warn = exceeds(row);
      if (warn) { tr.className = 'warn'; tr.title = MARK_TITLE; }
      COLUMNS.forEach(function (c) {
        var td = tr.insertCell();
        td.textContent = cell(row, c[0]);
        if (warn && c[0] === 'anomaly') td.className = 'warn';
        if (warn && (c[0] === 'name' || c[0] === 'networked' || c[0] === 'networkingRate')) {
          var m = document.createElement('span');
          m.className = 'mark';
          m.title = MARK_TITLE;
          m.textContent = MARK;
          td.appendChild(m);
        }
      });
    });
  }
  function set(id, text) { document.getElementById(id).textContent = text; }
  var KEY = 'wanji.token';
  // Only the fragment: a query (?token=) is sent to the hub and to every proxy on the way, and
  // lands in their logs. One there is not used; the page removes it and asks for the token.
  function takeTokenFromAddress() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    var inQuery = /(?:^[?]|&)token=/.test(location.search);
    if (m) {
      try { sessionStorage.setItem(KEY, decodeURIComponent(m[1])); } catch (e) { /* not a token */ }
    }
    if (m || inQuery) history.replaceState(null, '', location.pathname);
    return inQuery;
  }
  function askForToken(message) {
    sessionStorage.removeItem(KEY);
    document.getElementById('login').style.display = 'block';
    var st = document.getElementById('status');
    st.className = 'err';
    st.textContent = message;
  }
  document.getElementById('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var t = document.getElementById('token').value.trim();
    if (!t) return;
    sessionStorage.setItem(KEY, t);
    document.getElementById('token').value = '';
    document.getElementById('login').style.display = 'none';
    refresh();
  });
  function refresh() {
    var token = sessionStorage.getItem(KEY);
    if (!token) { askForToken('需要访问令牌 An API token is needed'); return; }
    fetch('/api/v1/stats', { headers: { Authorization: 'Bearer ' + token } }).then(function (r) {
      if (r.status === 401) { askForToken('令牌无效 The token was refused (unknown, revoked or expired)'); return null; }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (s) {
      if (s === null) return;
      // No target of its own (a scoped user's region without one): a dash and an empty bar.
      set('target', s.target > 0 ? num(s.target) : '–');
      set('networked', num(s.networked));
      set('online', num(s.online));
      set('enterprises', num(s.enterprises));
      set('networkingRate', pct(s.networkingRate));
      set('ncRate', pct(s.ncRate));
      var warn = exceeds(s);
      mark(document.getElementById('networkedMark'), warn);
      mark(document.getElementById('networkingRateMark'), warn);
      var beyond = document.getElementById('beyond');
      beyond.hidden = !warn;
      beyond.textContent = warn
        ? MARK + ' ' + num(s.beyondLedger) + ' 台超出台账，不计入 machines beyond the ledgers, not counted · ' +
          num(s.enterprisesExceedingLedger) + ' 家企业超出台账 enterprises exceed their ledger · ' +
          num(s.networkedUnconfirmed) + ' 台未确认 unconfirmed (监测 measured ' + num(s.networkedMeasured) + ')'
        : '';
      document.getElementById('progress').value = s.target > 0 ? Math.min(1, s.networked / s.target) : 0;
      table('byRegion', s.byRegion);
      table('byIndustry', s.byIndustry);
      var st = document.getElementById('status');
      st.className = '';
      st.textContent = '更新于 Updated ' + new Date(s.generatedAt).toLocaleString('zh-CN') +
        ' · 联网窗口 networking window ' + Math.round(s.windows.networkingMs / 86400000) + ' d' +
        ' · 在线窗口 online window ' + Math.round(s.windows.onlineMs / 60000) + ' min';
    }).catch(function (err) {
      var st = document.getElementById('status');
      st.className = 'err';
      st.textContent = '无法获取统计 Cannot load statistics: ' + err.message;
    });
  }
  if (takeTokenFromAddress()) {
    askForToken('网址中的 ?token= 不被接受 A token in the address query (?token=) is not accepted: it reaches ' +
      'server and proxy logs, so revoke it; open the address with #token= instead, or paste the token here');
  } else {
    refresh();
  }
  setInterval(function () { if (sessionStorage.getItem(KEY)) refresh(); }, ${DASHBOARD_REFRESH_MS});
})();
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own inline style and script (by hash), the API on
 * the same origin, nothing else; never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>万机联网 Wanji hub</title>
<style>${STYLE}</style>
</head>
<body>
<h1>万机联网 · Wanji networked machines</h1>
<form id="login">
  <label for="token">访问令牌 API token (<code>wanji token create --role bureau</code>)</label>
  <input id="token" type="password" autocomplete="off" placeholder="wj_…">
  <button type="submit">查看 Open</button>
</form>
<div class="cards">
  <div class="card"><div class="l">目标 Target</div><div class="n" id="target">–</div></div>
  <div class="card"><div class="l">联网设备 Networked machines<span id="networkedMark" hidden></span></div>
    <div class="n" id="networked">–</div>
    <progress id="progress" max="1" value="0"></progress>
    <div class="warn" id="beyond" hidden></div></div>
  <div class="card"><div class="l">在线设备 Online machines</div><div class="n" id="online">–</div></div>
  <div class="card"><div class="l">企业 Enterprises</div><div class="n" id="enterprises">–</div></div>
  <div class="card"><div class="l">设备联网率 Networking rate<span id="networkingRateMark" hidden></span></div>
    <div class="n" id="networkingRate">–</div></div>
  <div class="card"><div class="l">数控化率 NC rate</div><div class="n" id="ncRate">–</div></div>
</div>
<h2>按区域 By region</h2>
<table id="byRegion"></table>
<h2>按行业 By industry</h2>
<table id="byIndustry"></table>
<div id="status"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
