// mixflow planner: the pages' behaviour. Plain browser JavaScript, no libraries; every number
// shown comes from the /api/v1 routes that other clients use, signed in by the session cookie.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (sel, root = document) => root.querySelector(sel);
  const body = document.body;
  const page = body.dataset.page;
  const modelName = body.dataset.model || "";
  const csrf = () => $('meta[name="csrf-token"]').content;
  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- API and errors

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function problemText(status, data) {
    if (data && typeof data === "object" && data.detail) {
      let text = `${data.title || "Error"} (${status}): ${data.detail}`;
      if (Array.isArray(data.errors) && data.errors.length > 1) {
        text += " | " + data.errors.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
      }
      return text;
    }
    return `The service answered ${status}${typeof data === "string" && data ? ": " + data.slice(0, 200) : ""}`;
  }

  async function api(method, path, payload, { form = false } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    let data;
    if (payload !== undefined) {
      if (form) data = payload;
      else {
        headers["Content-Type"] = "application/json";
        data = JSON.stringify(payload);
      }
    }
    let r;
    try {
      r = await fetch(path, { method, headers, body: data, credentials: "same-origin" });
    } catch (_) {
      throw new ApiError(0, "The service did not answer (network error): is mixflow serve running?");
    }
    if (r.status === 204) return null;
    const type = r.headers.get("content-type") || "";
    const parsed = type.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new ApiError(r.status, problemText(r.status, parsed));
    return parsed;
  }

  function showError(err) {
    const box = $("#error");
    box.replaceChildren(document.createTextNode(err && err.message ? err.message : String(err)));
    if (err && err.status === 401 && page !== "signin") {
      box.append(" ", el("a", { href: "/signin" }, "Sign in again"));
    }
    box.hidden = false;
  }

  function clearError() {
    const box = $("#error");
    box.hidden = true;
    box.textContent = "";
  }

  // run an async handler, showing any error on the page instead of the console
  const guard = (fn) => async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      showError(err);
    }
  };

  // ---------------------------------------------------------------- DOM and numbers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function svg(tag, attrs = {}) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  const fmt0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const short = (x) => (Math.abs(x) >= 10000 ? compact.format(x) : num(x, Math.abs(x) < 10 && x !== 0 ? 2 : 0));
  const fmt2 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
  const num = (x, digits = 0) =>
    x === null || x === undefined || !Number.isFinite(Number(x)) ? "n/a" : (digits ? fmt2 : fmt0).format(Number(x));
  const interval = (s, digits = 0) =>
    s ? `${num(s.mean, digits)} (90%: ${num(s.hdi_90[0], digits)} to ${num(s.hdi_90[1], digits)})` : "n/a";
  const pct = (x) => `${(100 * Number(x)).toFixed(0)}%`;
  const when = (v) => {
    if (v === null || v === undefined || v === "") return "n/a";
    const d = typeof v === "number" ? new Date(v) : new Date(String(v));
    return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().slice(0, 16).replace("T", " ");
  };

  // ---------------------------------------------------------------- adapters to the API

  const asList = (data, ...keys) => {
    if (Array.isArray(data)) return data;
    for (const k of keys) if (data && Array.isArray(data[k])) return data[k];
    return [];
  };
  const pick = (obj, ...keys) => {
    for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
    return undefined;
  };
  const aliasesOf = (m) => {
    const a = pick(m, "aliases") || {};
    if (Array.isArray(a)) return Object.fromEntries(a.map((x) => [x.alias || x.name, x.version]));
    return a;
  };
  const versionsOf = (m) => asList(pick(m, "versions") || [], "items");
  const versionNumber = (v) => Number(pick(v, "version"));

  async function modelDetail(name) {
    const m = await api("GET", `/api/v1/models/${enc(name)}`);
    const aliases = aliasesOf(m);
    const versions = versionsOf(m);
    let ref = aliases.champion;
    if (ref === undefined && versions.length) ref = Math.max(...versions.map(versionNumber));
    if (ref === undefined) ref = pick(m, "latest_version");
    return { model: m, aliases, versions, ref: ref === undefined ? undefined : Number(ref) };
  }

  const summaryOf = (name, version) =>
    api("GET", `/api/v1/models/${enc(name)}/versions/${enc(version)}/summary`);

  const gatesText = (v) => {
    const passed = pick(v, "gates_passed", "gates_pass");
    if (passed === undefined) return "n/a";
    return passed ? "pass" : "fail";
  };

  // ---------------------------------------------------------------- charts (SVG)

  // horizontal point-and-interval chart: rows [{label, mean, lo, hi}]
  function intervalChart(rows, { digits = 2, refLine = null, label = "" } = {}) {
    const rowH = 28;
    const left = 130;
    const width = 520;
    const right = 70;
    const height = rows.length * rowH + 30;
    const values = rows.flatMap((r) => [r.lo, r.hi, r.mean]).concat(refLine === null ? [] : [refLine]);
    let lo = Math.min(0, ...values);
    let hi = Math.max(...values);
    if (!(hi > lo)) hi = lo + 1;
    const x = (v) => left + ((v - lo) / (hi - lo)) * (width - left - right);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart-svg" });
    const axisY = rows.length * rowH + 5;
    root.append(svg("line", { x1: left, x2: width - right, y1: axisY, y2: axisY, class: "axis" }));
    for (const t of [lo, (lo + hi) / 2, hi]) {
      const tx = svg("text", { x: x(t), y: axisY + 18, "text-anchor": "middle", class: "tick" });
      tx.textContent = num(t, digits);
      root.append(tx);
    }
    if (refLine !== null) {
      root.append(svg("line", { x1: x(refLine), x2: x(refLine), y1: 0, y2: axisY, class: "ref" }));
    }
    rows.forEach((r, i) => {
      const y = i * rowH + rowH / 2;
      const name = svg("text", { x: left - 8, y: y + 4, "text-anchor": "end", class: "label" });
      name.textContent = r.label;
      const g = svg("g", {});
      const title = svg("title", {});
      title.textContent = `${r.label}: ${num(r.mean, digits)} (90%: ${num(r.lo, digits)} to ${num(r.hi, digits)})`;
      g.append(title);
      g.append(svg("line", { x1: x(r.lo), x2: x(r.hi), y1: y, y2: y, class: "whisker" }));
      g.append(svg("circle", { cx: x(r.mean), cy: y, r: 5, class: "point" }));
      const val = svg("text", { x: width - right + 14, y: y + 4, class: "value" });
      val.textContent = num(r.mean, digits);
      root.append(name, g, val);
    });
    return root;
  }

  // line chart with optional bands: series [{label, xs, ys, lo?, hi?, cls}], marks [{x, y, label}]
  function lineChart(series, { width = 520, height = 220, marks = [], label = "", xFormat = short } = {}) {
    const pad = { l: 52, r: 14, t: 10, b: 26 };
    const xsAll = series.flatMap((s) => s.xs);
    const ysAll = series.flatMap((s) => s.ys.concat(s.lo || [], s.hi || [])).concat(marks.map((m) => m.y));
    const x0 = Math.min(...xsAll);
    let x1 = Math.max(...xsAll);
    const y0 = Math.min(0, ...ysAll);
    let y1 = Math.max(...ysAll);
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) y1 = y0 + 1;
    const X = (v) => pad.l + ((v - x0) / (x1 - x0)) * (width - pad.l - pad.r);
    const Y = (v) => height - pad.b - ((v - y0) / (y1 - y0)) * (height - pad.t - pad.b);
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart-svg" });
    root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(y0), y2: Y(y0), class: "axis" }));
    root.append(svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: Y(y0), class: "axis" }));
    for (const [v, anchor] of [[x0, "start"], [x1, "end"]]) {
      const t = svg("text", { x: X(v), y: height - 6, "text-anchor": anchor, class: "tick" });
      t.textContent = xFormat(v);
      root.append(t);
    }
    for (const v of [y0, y1]) {
      const t = svg("text", { x: pad.l - 4, y: Y(v) + 4, "text-anchor": "end", class: "tick" });
      t.textContent = short(v);
      root.append(t);
    }
    series.forEach((s) => {
      if (s.lo && s.hi) {
        const top = s.xs.map((xv, i) => `${X(xv)},${Y(s.hi[i])}`);
        const bottom = s.xs.map((xv, i) => `${X(xv)},${Y(s.lo[i])}`).reverse();
        root.append(svg("polygon", { points: top.concat(bottom).join(" "), class: `band ${s.cls || ""}` }));
      }
      const line = svg("polyline", { points: s.xs.map((xv, i) => `${X(xv)},${Y(s.ys[i])}`).join(" "), class: `line ${s.cls || ""}` });
      const title = svg("title", {});
      title.textContent = s.label;
      line.append(title);
      root.append(line);
    });
    for (const m of marks) {
      const c = svg("circle", { cx: X(m.x), cy: Y(m.y), r: 5, class: "mark" });
      const title = svg("title", {});
      title.textContent = m.label;
      c.append(title);
      root.append(c);
    }
    return root;
  }

  // ---------------------------------------------------------------- sign in / out

  async function signIn(ev) {
    ev.preventDefault();
    clearError();
    const input = $("#api-key");
    if (!input.value.trim()) {
      showError(new Error("Enter an API key."));
      input.focus();
      return;
    }
    try {
      await api("POST", "/web/session", { api_key: input.value });
    } catch (err) {
      input.value = "";
      if (err.status === 401) err.message = "Sign-in failed: the API key is unknown or revoked.";
      throw err;
    }
    input.value = "";
    window.location.assign("/models");
  }

  async function signOut() {
    await api("DELETE", "/web/session");
    window.location.assign("/signin");
  }

  // ---------------------------------------------------------------- models

  async function modelsPage() {
    const tbody = $("#models-table tbody");
    const models = asList(await api("GET", "/api/v1/models"), "items", "models");
    if (!models.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No models yet.")));
      return;
    }
    const rows = await Promise.all(
      models.map(async (m) => {
        const name = pick(m, "name", "model_name");
        const d = await modelDetail(name);
        const v = d.versions.find((x) => versionNumber(x) === d.ref) || {};
        let window = "n/a";
        let fitted = pick(v, "fitted_at", "created_at", "created_ms");
        if (d.ref !== undefined) {
          try {
            const s = await summaryOf(name, d.ref);
            window = `${s.data.start} to ${s.data.end}`;
            fitted = s.created_at || fitted;
          } catch (err) {
            window = "unavailable";
          }
        }
        const champion = d.aliases.champion === undefined ? "none" : `v${d.aliases.champion}`;
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, el("a", { href: `/models/${enc(name)}` }, name)),
          el("td", {}, champion),
          el("td", {}, when(fitted)),
          el("td", {}, window),
          el("td", { class: gatesText(v) }, gatesText(v)),
        );
      }),
    );
    tbody.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- overview

  async function overviewPage() {
    const d = await modelDetail(modelName);
    if (d.ref === undefined) {
      $("#model-meta").textContent = "This model has no version yet.";
      return;
    }
    const s = await summaryOf(modelName, d.ref);
    const champion = d.aliases.champion;
    $("#model-meta").textContent =
      `Version ${d.ref}${champion === d.ref ? " (champion)" : ""} · data ${s.data.start} to ${s.data.end}` +
      ` · ${s.data.n_periods} weeks · ${s.method} fit · KPI: ${s.kpi_type}`;
    const channels = Object.keys(s.channels);
    const rows = (key) =>
      channels.map((ch) => ({ label: ch, mean: s.channels[ch][key].mean, lo: s.channels[ch][key].hdi_90[0], hi: s.channels[ch][key].hdi_90[1] }));
    $("#roi-chart").replaceChildren(intervalChart(rows("roi"), { refLine: 1, label: "ROI per channel with 90% intervals" }));
    $("#mroi-chart").replaceChildren(intervalChart(rows("mroi"), { refLine: 1, label: "Marginal ROI per channel with 90% intervals" }));
    diagnostics(s, d);
    $("#report-link").href = `/api/v1/models/${enc(modelName)}/versions/${enc(d.ref)}/report`;
    const promote = $("#promote-form");
    if (promote) {
      const select = $("#promote-version");
      const numbers = d.versions.map(versionNumber).filter(Number.isFinite).sort((a, b) => b - a);
      select.replaceChildren(...numbers.map((n) => el("option", { value: n }, `v${n}${n === champion ? " (champion)" : ""}`)));
      promote.addEventListener("submit", guard(promoteVersion));
    }
    const charts = await api("GET", `/web/models/${enc(modelName)}/versions/${enc(d.ref)}/charts`);
    contributionChart(charts.contributions);
    responseCurves(charts.curves);
  }

  function diagnostics(s, d) {
    const diag = s.diagnostics;
    const v = d.versions.find((x) => versionNumber(x) === d.ref) || {};
    const items = [
      ["Sampler status", diag.ok ? "ok" : `needs attention: ${(diag.flags || []).join(", ")}`],
      ["Max R-hat", diag.rhat_max === null ? "n/a" : num(diag.rhat_max, 2)],
      ["Min bulk ESS", diag.ess_bulk_min === null ? "n/a" : num(diag.ess_bulk_min)],
      ["Divergences", String(diag.divergences)],
      ["Fit R²", s.fit.r2 === null ? "n/a" : num(s.fit.r2, 2)],
      ["Holdout MAPE", s.fit.holdout_mape === null || s.fit.holdout_mape === undefined ? "n/a" : pct(s.fit.holdout_mape)],
      ["Gates", gatesText(v)],
    ];
    const dl = el("dl", { class: "diag", "data-testid": "diagnostics" });
    for (const [k, val] of items) dl.append(el("dt", {}, k), el("dd", {}, val));
    $("#diagnostics").replaceChildren(dl);
  }

  function contributionChart(c) {
    const box = $("#contrib-chart");
    if (!c || !c.dates || !c.dates.length) {
      box.textContent = "No contributions in this run.";
      return;
    }
    const xs = c.dates.map((_, i) => i);
    const series = Object.entries(c.series).map(([name, ys], i) => ({ label: name, xs, ys, cls: `s${i % 8}` }));
    box.replaceChildren(
      lineChart(series, { width: 1000, height: 260, label: "Contribution per week by channel", xFormat: (v) => c.dates[Math.round(v)] || "" }),
      legend(series.map((s) => s.label)),
    );
  }

  function legend(names) {
    return el("ul", { class: "legend" }, ...names.map((n, i) => el("li", { class: `s${i % 8}` }, n)));
  }

  function responseCurves(curves) {
    const box = $("#curves");
    const entries = Object.entries(curves || {});
    if (!entries.length) {
      box.textContent = "No response curves in this run.";
      return;
    }
    box.replaceChildren(
      ...entries.map(([ch, cv]) => {
        const fig = el("figure", { class: "curve" });
        const marks = cv.current_spend === null ? [] : [{ x: cv.current_spend, y: cv.current_value, label: `today's spend: ${num(cv.current_spend)}` }];
        fig.append(
          lineChart([{ label: ch, xs: cv.spend, ys: cv.mean, lo: cv.lo, hi: cv.hi, cls: "s0" }], {
            width: 320,
            height: 200,
            marks,
            label: `Response curve of ${ch} with 90% band`,
          }),
          el("figcaption", {}, ch),
        );
        return fig;
      }),
    );
  }

  async function promoteVersion(ev) {
    ev.preventDefault();
    clearError();
    const version = Number($("#promote-version").value);
    const reason = $("#promote-reason").value.trim();
    if (!reason) throw new Error("A promotion needs a reason.");
    const override = $("#promote-override").checked ? reason : null;
    await api("PUT", `/api/v1/models/${enc(modelName)}/aliases/champion`, { version, reason, override });
    $("#promote-result").textContent = `Version ${version} is now the champion.`;
  }

  // ---------------------------------------------------------------- planner

  const planner = {
    ref: undefined,
    channels: [],
    recent: null, // {weeks, spend: {ch: amount}}
    seq: 0,
    timer: 0,
    last: null, // the last simulated plan
  };

  const RECENT_WEEKS = 13;
  const DEBOUNCE_MS = 120;

  function planSpend() {
    const out = {};
    for (const ch of planner.channels) out[ch] = Number($(`#spend-${planner.channels.indexOf(ch)}`).value) || 0;
    return out;
  }

  function weeks() {
    return Number($("#weeks").value);
  }

  function currentPlan(name = "plan") {
    return { name, horizon_weeks: weeks(), spend: planSpend() };
  }

  function setSpend(spend) {
    planner.channels.forEach((ch, i) => {
      $(`#spend-${i}`).value = String(Math.round(spend[ch] || 0));
    });
    $("#budget").value = String(Math.round(Object.values(spend).reduce((a, b) => a + b, 0)));
  }

  async function plannerPage() {
    const d = await modelDetail(modelName);
    if (d.ref === undefined) throw new Error("This model has no version to plan with.");
    planner.ref = d.ref;
    const s = await summaryOf(modelName, d.ref);
    planner.channels = s.data.channels;
    const tbody = $("#channel-inputs");
    tbody.replaceChildren(
      ...planner.channels.map((ch, i) =>
        el(
          "tr",
          {},
          el(
            "td",
            {},
            el("label", { for: `spend-${i}` }, ch),
            el("input", { id: `spend-${i}`, type: "number", min: 0, step: "any", inputmode: "decimal", "data-channel": ch, class: "spend" }),
          ),
          el("td", {}, el("input", { id: `lo-${i}`, type: "number", min: 0, step: 0.05, value: 0.5, "aria-label": `${ch} minimum, times current`, class: "bound" })),
          el("td", {}, el("input", { id: `hi-${i}`, type: "number", min: 0, step: 0.05, value: 2, "aria-label": `${ch} maximum, times current`, class: "bound" })),
        ),
      ),
    );
    planner.recent = await recentSplit(s);
    $("#weeks").value = String(planner.recent.weeks);
    setSpend(planner.recent.spend);
    tbody.addEventListener("input", (ev) => {
      if (!ev.target.classList.contains("spend")) return;
      $("#budget").value = String(Math.round(Object.values(planSpend()).reduce((a, b) => a + b, 0)));
      schedule();
    });
    $("#budget").addEventListener("input", () => {
      const budget = Number($("#budget").value);
      const spend = planSpend();
      const total = Object.values(spend).reduce((a, b) => a + b, 0);
      if (!(budget >= 0)) return;
      const scaled = {};
      for (const ch of planner.channels) scaled[ch] = total > 0 ? (spend[ch] * budget) / total : budget / planner.channels.length;
      planner.channels.forEach((ch, i) => {
        $(`#spend-${i}`).value = String(Math.round(scaled[ch]));
      });
      schedule();
    });
    $("#weeks").addEventListener("input", schedule);
    $("#optimize").addEventListener("click", guard(optimize));
    $("#reset").addEventListener("click", () => {
      $("#weeks").value = String(planner.recent.weeks);
      setSpend(planner.recent.spend);
      $("#optimized").hidden = true;
      schedule();
    });
    const save = $("#save-form");
    if (save) save.addEventListener("submit", guard(saveScenario));
    await simulateNow();
  }

  // the recent split: the spend of the last weeks, as the simulate API reads it for a
  // "like the last N weeks" plan
  async function recentSplit(s) {
    const res = await api("POST", `/api/v1/models/${enc(modelName)}/simulate`, {
      ref: planner.ref,
      plan: { name: "recent", like_last_weeks: RECENT_WEEKS },
    });
    const per = pick(res, "per_channel");
    if (per) {
      const spend = {};
      for (const ch of planner.channels) spend[ch] = Number((per[ch] || {}).spend || 0);
      return { weeks: Number(pick(res, "horizon_weeks") || RECENT_WEEKS), spend };
    }
    const perWeek = {};
    for (const ch of s.data.channels) perWeek[ch] = (s.channels[ch].spend / s.data.n_periods) * RECENT_WEEKS;
    return { weeks: RECENT_WEEKS, spend: perWeek };
  }

  function schedule() {
    window.clearTimeout(planner.timer);
    $("#outcome").dataset.state = "pending";
    planner.timer = window.setTimeout(() => guard(simulateNow)(), DEBOUNCE_MS);
  }

  function validPlan(plan) {
    if (!Number.isInteger(plan.horizon_weeks) || plan.horizon_weeks < 1 || plan.horizon_weeks > 520) {
      return "Weeks must be a whole number from 1 to 520.";
    }
    for (const [ch, v] of Object.entries(plan.spend)) if (!(v >= 0)) return `Spend for ${ch} must be an amount of 0 or more.`;
    return null;
  }

  async function simulateNow() {
    const plan = currentPlan();
    const problem = validPlan(plan);
    const outcome = $("#outcome");
    if (problem) {
      showError(new Error(problem));
      outcome.dataset.state = "invalid";
      return;
    }
    const seq = ++planner.seq;
    const res = await api("POST", `/api/v1/models/${enc(modelName)}/simulate`, { ref: planner.ref, plan });
    if (seq !== planner.seq) return; // a newer edit is on its way
    clearError();
    planner.last = { plan, result: res };
    renderOutcome(plan, res);
  }

  const kpiOf = (res) => pick(res.expected || res, "incremental_kpi", "incremental_kpi_with_tail");
  const revenueOf = (res) => pick(res.expected || res, "incremental_revenue", "incremental_revenue_with_tail");
  const roiOf = (res) => pick(res.expected || res, "roi", "roi_with_tail");

  function renderOutcome(plan, res) {
    const outcome = $("#outcome");
    const kpi = kpiOf(res);
    const rev = revenueOf(res);
    const roi = roiOf(res);
    const dl = el(
      "dl",
      { class: "outcome" },
      el("dt", {}, "Incremental KPI"),
      el("dd", { "data-testid": "kpi" }, interval(kpi)),
      el("dt", {}, "Incremental revenue"),
      el("dd", { "data-testid": "revenue" }, interval(rev)),
      el("dt", {}, "ROI"),
      el("dd", { "data-testid": "roi" }, interval(roi, 2)),
    );
    outcome.replaceChildren(dl);
    outcome.dataset.plan = JSON.stringify(plan);
    outcome.dataset.kpiMean = String(kpi.mean);
    outcome.dataset.revenueMean = String(rev.mean);
    outcome.dataset.revenueLo = String(rev.hdi_90[0]);
    outcome.dataset.revenueHi = String(rev.hdi_90[1]);
    outcome.dataset.seq = String(planner.seq);
    outcome.dataset.state = "ready";
    const per = pick(res, "per_channel") || {};
    $("#breakdown tbody").replaceChildren(
      ...planner.channels.map((ch) => {
        const c = per[ch] || {};
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, ch),
          el("td", {}, num(plan.spend[ch])),
          el("td", {}, interval(pick(c, "incremental_revenue", "incremental_revenue_with_tail"))),
        );
      }),
    );
  }

  async function optimize() {
    clearError();
    const plan = currentPlan();
    const problem = validPlan(plan);
    if (problem) throw new Error(problem);
    const channelBounds = {};
    planner.channels.forEach((ch, i) => {
      const lo = Number($(`#lo-${i}`).value);
      const hi = Number($(`#hi-${i}`).value);
      if (!(lo >= 0) || !(hi >= lo)) throw new Error(`Bounds for ${ch}: min must be 0 or more and max at least min.`);
      channelBounds[ch] = [plan.spend[ch] * lo, plan.spend[ch] * hi];
    });
    const budget = Object.values(plan.spend).reduce((a, b) => a + b, 0);
    const button = $("#optimize");
    button.disabled = true;
    button.textContent = "Optimizing…";
    try {
      const doc = await api("POST", `/api/v1/models/${enc(modelName)}/optimize`, {
        ref: planner.ref,
        budget,
        horizon_weeks: plan.horizon_weeks,
        channel_bounds: channelBounds,
      });
      const alloc = doc.allocation;
      // P(optimized beats the split on screen), on the same draws
      const cmp = await api("POST", `/api/v1/models/${enc(modelName)}/compare`, {
        ref: planner.ref,
        plans: [
          { name: "optimized", horizon_weeks: plan.horizon_weeks, spend: alloc },
          { name: "current", horizon_weeks: plan.horizon_weeks, spend: plan.spend },
        ],
      });
      $("#allocation tbody").replaceChildren(
        ...planner.channels.map((ch) => {
          const before = plan.spend[ch];
          const after = alloc[ch];
          const change = after - before;
          return el(
            "tr",
            { "data-channel": ch, "data-current": before, "data-optimized": after, "data-min": channelBounds[ch][0], "data-max": channelBounds[ch][1] },
            el("th", { scope: "row" }, ch),
            el("td", {}, num(before)),
            el("td", {}, num(after)),
            el("td", {}, `${change >= 0 ? "+" : ""}${num(change)}${before > 0 ? ` (${change >= 0 ? "+" : ""}${((100 * change) / before).toFixed(0)}%)` : ""}`),
          );
        }),
      );
      const p = $("#prob-beats");
      const prob = Number(cmp.prob_first_beats_second);
      p.textContent = `P(optimized beats current) = ${prob.toFixed(2)}`;
      p.dataset.value = String(prob);
      // budget moved into a weakly identified channel: the data left its ROI near the prior
      const weak = doc.weakly_identified_moves || [];
      $("#weak-moves").replaceChildren(...weak.map((m) => weakMoveItem(m)));
      $("#weak-moves").hidden = weak.length === 0;
      $("#allocation").dataset.budget = String(budget);
      $("#optimized").hidden = false;
      planner.channels.forEach((ch, i) => {
        $(`#spend-${i}`).value = String(Math.round(alloc[ch] * 100) / 100);
      });
      $("#budget").value = String(Math.round(budget));
      await simulateNow();
    } finally {
      button.disabled = false;
      button.textContent = "Optimize";
    }
  }

  // one move of budget into a weakly identified channel (an entry of plan.json's
  // weakly_identified_moves), as a list item; text nodes only, so names are never markup
  function weakMoveItem(m, prefix = "") {
    return el(
      "li",
      { "data-channel": m.channel, "data-prob-loses": m.prob_loses_money ?? "" },
      `${prefix}${num(m.spend_moved)} moved into ${m.channel}, whose ROI is weakly identified ` +
        `(posterior/prior log-sd ${m.sd_ratio.toFixed(2)}: the data left it close to the prior); ` +
        (m.prob_loses_money === null
          ? "no revenue per KPI unit, so no probability of losing money."
          : `P(the moved spend returns less than it costs) = ${m.prob_loses_money.toFixed(2)}.`),
    );
  }

  async function saveScenario(ev) {
    ev.preventDefault();
    clearError();
    const name = $("#scenario-name").value.trim();
    if (!name) throw new Error("Give the scenario a name.");
    const plan = currentPlan(name);
    const saved = await api("POST", "/api/v1/plans", { name, model_name: modelName, ref: planner.ref, plan });
    $("#save-result").replaceChildren("Saved ", el("a", { href: "/scenarios" }, `“${pick(saved, "name") || name}”`), ".");
  }

  // ---------------------------------------------------------------- scenarios

  const scenarios = { items: [] };
  const planOf = (p) => pick(p, "plan") || {};
  const spendOf = (p) => planOf(p).spend || {};
  const modelOf = (p) => pick(p, "model_name", "model");
  const versionOf = (p) => pick(p, "model_version", "version", "ref");
  const resultOf = (p) => pick(p, "results", "result") || {};

  async function scenariosPage() {
    scenarios.items = asList(await api("GET", "/api/v1/plans"), "items", "plans");
    const tbody = $("#scenarios-table tbody");
    if (!scenarios.items.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No saved scenarios yet.")));
    } else {
      tbody.replaceChildren(
        ...scenarios.items.map((p, i) => {
          const total = Object.values(spendOf(p)).reduce((a, b) => a + Number(b), 0);
          const button = el("button", { type: "button", class: "secondary", "data-index": i }, "CSV");
          button.setAttribute("aria-label", `Export ${p.name} as CSV`);
          button.addEventListener("click", guard(async () => exportCsv(await api("GET", `/api/v1/plans/${enc(p.id)}`))));
          return el(
            "tr",
            {},
            el("th", { scope: "row" }, pick(p, "name")),
            el("td", {}, `${modelOf(p)} v${versionOf(p)}`),
            el("td", {}, num(total)),
            el("td", {}, String(planOf(p).horizon_weeks ?? "n/a")),
            el("td", {}, String(pick(p, "author", "created_by") ?? "n/a")),
            el("td", {}, when(pick(p, "created_at"))),
            el("td", {}, button),
          );
        }),
      );
    }
    const options = () => scenarios.items.map((p, i) => el("option", { value: i }, pick(p, "name")));
    $("#scenario-a").replaceChildren(...options());
    $("#scenario-b").replaceChildren(...options());
    if (scenarios.items.length > 1) $("#scenario-b").value = "1";
    $("#compare-form").addEventListener("submit", guard(compareScenarios));
  }

  const csvCell = (v) => {
    const s = String(v ?? "");
    return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };

  function exportCsv(p) {
    const res = resultOf(p);
    const per = pick(res, "per_channel") || {};
    const lines = [["scenario", "model", "version", "weeks", "channel", "spend", "incremental_revenue_mean", "incremental_revenue_hdi_lo", "incremental_revenue_hdi_hi"].join(",")];
    for (const [ch, amount] of Object.entries(spendOf(p))) {
      const r = pick(per[ch] || {}, "incremental_revenue", "incremental_revenue_with_tail");
      lines.push(
        [p.name, modelOf(p), versionOf(p), planOf(p).horizon_weeks, ch, amount, r ? r.mean : "", r ? r.hdi_90[0] : "", r ? r.hdi_90[1] : ""].map(csvCell).join(","),
      );
    }
    const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
    const a = el("a", { href: URL.createObjectURL(blob), download: `${String(p.name).replace(/[^A-Za-z0-9._-]+/g, "_")}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  async function compareScenarios(ev) {
    ev.preventDefault();
    clearError();
    const a = scenarios.items[Number($("#scenario-a").value)];
    const b = scenarios.items[Number($("#scenario-b").value)];
    if (!a || !b) throw new Error("Save two scenarios to compare them.");
    if (a === b) throw new Error("Pick two different scenarios.");
    if (modelOf(a) !== modelOf(b)) throw new Error("Both scenarios must be plans of the same model.");
    const nameA = `A: ${a.name}`;
    const nameB = `B: ${b.name}`;
    const res = await api("POST", `/api/v1/models/${enc(modelOf(a))}/compare`, {
      ref: versionOf(a),
      plans: [{ ...planOf(a), name: nameA }, { ...planOf(b), name: nameB }],
    });
    const prob = pick(res, "prob_first_beats_second", "prob_beats");
    const pAB = typeof prob === "number" ? prob : prob[nameA][nameB];
    const stats = pick(res, "plans") || {};
    const table = el(
      "table",
      { class: "compare" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), el("th", { scope: "col" }, nameA), el("th", { scope: "col" }, nameB))),
    );
    const tb = el("tbody");
    const channels = Array.from(new Set(Object.keys(spendOf(a)).concat(Object.keys(spendOf(b)))));
    for (const ch of channels) tb.append(el("tr", {}, el("th", { scope: "row" }, ch), el("td", {}, num(spendOf(a)[ch] || 0)), el("td", {}, num(spendOf(b)[ch] || 0))));
    if (stats[nameA] && stats[nameB]) {
      tb.append(el("tr", {}, el("th", { scope: "row" }, `${res.metric || "profit"} (90%)`), el("td", {}, interval(stats[nameA])), el("td", {}, interval(stats[nameB]))));
    }
    table.append(tb);
    const p = el("p", { class: "big", "data-testid": "prob-a-beats-b", "data-value": pAB }, `P(A beats B) = ${Number(pAB).toFixed(2)}`);
    // B against A (the reference): budget B puts into a weakly identified channel beyond A's
    const moves = (pick(res, "weakly_identified_moves") || {})[nameB] || [];
    const warn = el("ul", { class: "warning", role: "alert", "data-testid": "compare-weak-moves", hidden: moves.length === 0 });
    warn.append(...moves.map((m) => weakMoveItem(m, `${nameB} against ${nameA}: `)));
    $("#comparison").replaceChildren(p, warn, el("div", { class: "table-wrap" }, table));
  }

  // ---------------------------------------------------------------- fits

  async function submitFit(ev) {
    ev.preventDefault();
    clearError();
    const form = new FormData();
    const name = $("#fit-model").value.trim();
    const config = $("#fit-config").files[0];
    const data = Array.from($("#fit-data").files);
    if (!name) throw new Error("Give the model a name.");
    if (!config) throw new Error("Choose a config file.");
    if (!data.length) throw new Error("Choose the data file.");
    form.append("model_name", name);
    form.append("config", config);
    for (const f of data) form.append("data", f);
    const job = await api("POST", "/api/v1/fits", form, { form: true });
    const id = pick(job, "job_id", "id");
    $("#job").hidden = false;
    $("#job-id").textContent = id;
    $("#job-result").replaceChildren();
    await pollJob(id);
  }

  async function pollJob(id) {
    const bar = $("#job-progress");
    for (;;) {
      const job = await api("GET", `/api/v1/jobs/${enc(id)}`);
      const progress = Number(pick(job, "progress") ?? (job.state === "succeeded" ? 1 : 0));
      bar.value = Math.max(0, Math.min(1, progress));
      $("#job-state").textContent = `State: ${job.state} (${pct(bar.value)})`;
      $("#job").dataset.state = job.state;
      if (job.state === "succeeded") {
        const r = job.result || {};
        const name = pick(r, "model_name");
        $("#job-result").replaceChildren(
          name
            ? el("p", {}, "Registered ", el("a", { href: `/models/${enc(name)}` }, `${name} v${pick(r, "version")}`), ".")
            : el("p", {}, "The fit succeeded."),
        );
        return;
      }
      if (job.state === "failed" || job.state === "cancelled") {
        $("#job-result").replaceChildren(el("p", { class: "bad" }, `The fit ${job.state}: ${job.error || "no reason given"}`));
        return;
      }
      await new Promise((resolve) => window.setTimeout(resolve, 1000));
    }
  }

  // ---------------------------------------------------------------- start

  const signOutButton = $("#sign-out");
  if (signOutButton) signOutButton.addEventListener("click", guard(signOut));
  const pages = {
    signin: () => $("#signin-form").addEventListener("submit", guard(signIn)),
    models: guard(modelsPage),
    overview: guard(overviewPage),
    planner: guard(plannerPage),
    scenarios: guard(scenariosPage),
    fits: () => {
      const form = $("#fit-form");
      if (form) form.addEventListener("submit", guard(submitFit));
    },
  };
  if (pages[page]) pages[page]();
})();
