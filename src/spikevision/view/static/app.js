// spikevision view: the page. Plain JavaScript over the HTTP API (docs/viewer.md).
"use strict";

(() => {
  const TOKEN = new URLSearchParams(window.location.search).get("token");
  const $ = (id) => document.getElementById(id);

  const state = {
    file: 0, info: null, t: 0, counts: null, countsStart: 0,
    live: false, following: false, pollTimer: null, polling: false,
    playing: false, lastTick: 0, carry: 0,
    zoom: 1, tx: 0, ty: 0, base: 1, boxW: 400, boxH: 250,
    pixel: null, panels: [], inflight: 0,
  };

  // ------------------------------------------------------------------ requests
  function url(path, params) {
    const q = new URLSearchParams();
    q.set("file", String(state.file));
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
    }
    if (TOKEN) q.set("token", TOKEN);
    return `${path}?${q.toString()}`;
  }

  function busy(delta) {
    state.inflight += delta;
    $("busy").hidden = state.inflight <= 0;
  }

  async function errorText(resp) {
    try {
      const body = await resp.json();
      return body.error || `HTTP ${resp.status}`;
    } catch (e) {
      return `HTTP ${resp.status}`;
    }
  }

  async function fetchJSON(path, params) {
    const resp = await fetch(url(path, params));
    if (!resp.ok) throw new Error(await errorText(resp));
    return await resp.json();
  }

  async function getJSON(path, params) {
    busy(1);
    try {
      return await fetchJSON(path, params);
    } finally {
      busy(-1);
    }
  }

  // Frame numbers of the source: [first, end). A file's start at 0; a live buffer's are camera indices.
  const first = () => (state.info ? state.info.first_frame || 0 : 0);
  const end = () => first() + (state.info ? state.info.frames : 0);

  // ------------------------------------------------------------------ panels
  // Each panel shows one image URL; a new URL waits until the previous one arrived
  // (latest wins), so scrubbing and playing never build a queue.
  class Panel {
    constructor(kind, opts) {
      this.kind = kind;               // "frame" | "flow" | "ratemap"
      this.method = opts.method || "raw";
      this.window = opts.window || null;
      this.dt = opts.dt || 20;
      this.arrows = false;
      this.closable = !!opts.closable;
      this.loading = false;
      this.pending = null;
      this.shown = null;
      this.timer = null;
      this.objectURL = null;
      this.painted = new Promise((resolve) => { this.markPainted = resolve; });
      this.build(opts.title);
    }

    get learned() {
      if (this.kind === "flow") return this.method !== "classical" && this.method !== "farneback";
      return this.kind === "frame" && state.info && state.info.learned.includes(this.method);
    }

    build(title) {
      const el = document.createElement("div");
      el.className = "panel";
      el.dataset.kind = this.kind;
      const head = document.createElement("div");
      head.className = "panel-head";
      const name = document.createElement("span");
      name.className = "title";
      name.textContent = title;
      head.appendChild(name);
      this.head = head;
      this.controls(head);
      const png = document.createElement("button");
      png.type = "button";
      png.textContent = "PNG";
      png.title = "Export the visible part of this panel as PNG";
      png.className = "export-png";
      png.addEventListener("click", () => exportPNG(this));
      head.appendChild(png);
      if (this.closable) {
        const close = document.createElement("button");
        close.type = "button";
        close.textContent = "\u00d7";
        close.title = "Remove this panel";
        close.addEventListener("click", () => removePanel(this));
        head.appendChild(close);
      }
      const vp = document.createElement("div");
      vp.className = "viewport";
      const img = document.createElement("img");
      img.alt = title;
      img.draggable = false;
      const marker = document.createElement("div");
      marker.className = "marker";
      const msg = document.createElement("div");
      msg.className = "msg";
      vp.append(img, marker, msg);
      el.append(head, vp);
      this.el = el; this.vp = vp; this.img = img; this.marker = marker; this.msg = msg;
      attachViewportEvents(vp);
    }

    controls(head) {
      const info = state.info;
      if (this.kind === "frame" && this.method === "mean") {
        const slider = document.createElement("input");
        slider.type = "range";
        slider.min = "1";
        slider.max = String(Math.max(1, Math.min(info.max_sum_window, 2001, state.live ? 2001 : info.frames)));
        slider.value = String(this.window || 41);
        slider.className = "mean-window";
        slider.title = "Window (frames)";
        const label = document.createElement("span");
        label.className = "note";
        label.textContent = `${slider.value} frames`;
        slider.addEventListener("input", () => {
          this.window = Number(slider.value);
          label.textContent = `${slider.value} frames`;
          this.request();
        });
        head.append(slider, label);
      } else if (this.kind === "frame" && this.method !== "raw") {
        const sel = document.createElement("select");
        sel.className = "method";
        for (const m of info.methods.filter((m) => m !== "raw" && m !== "mean")) {
          const o = document.createElement("option");
          o.value = m;
          o.textContent = info.learned.includes(m) ? `${m} (learned)` : m;
          sel.appendChild(o);
        }
        sel.value = this.method;
        sel.addEventListener("change", () => { this.method = sel.value; this.request(); });
        const win = numberInput(this.window || 41, 1, info.max_window, "window (frames)");
        win.className = "window";
        win.addEventListener("change", () => { this.window = Number(win.value) || null; this.request(); });
        head.append(sel, win);
      } else if (this.kind === "flow") {
        const sel = document.createElement("select");
        sel.className = "method";
        for (const m of info.flow_methods) {
          const o = document.createElement("option");
          o.value = m;
          o.textContent = (m === "classical" || m === "farneback") ? m : `${m} (learned)`;
          sel.appendChild(o);
        }
        sel.value = this.method;
        sel.addEventListener("change", () => { this.method = sel.value; this.request(); });
        const dt = numberInput(this.dt, 1, Math.max(1, (state.live ? 2001 : info.frames) - 1), "dt (frames)");
        dt.addEventListener("change", () => { this.dt = Number(dt.value) || 20; this.request(); });
        const lab = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.className = "arrows";
        box.addEventListener("change", () => { this.arrows = box.checked; this.request(); });
        lab.append(box, document.createTextNode(" arrows"));
        head.append(sel, document.createTextNode("dt"), dt, lab);
      } else if (this.kind === "ratemap") {
        const win = numberInput(this.window || Math.min(2000, state.live ? 2000 : info.frames), 1, info.max_sum_window,
          "window (frames)");
        win.addEventListener("change", () => { this.window = Number(win.value) || null; this.request(); });
        const note = document.createElement("span");
        note.className = "note hot-count";
        this.note = note;
        head.append(win, note);
      }
    }

    src() {
      if (this.kind === "frame") return url("/api/frame", { t: state.t, method: this.method, window: this.window });
      if (this.kind === "flow") {
        return url("/api/flow", { t0: state.t, dt: this.dt, method: this.method, arrows: this.arrows ? 1 : 0 });
      }
      return url("/api/ratemap", { t: state.t, window: this.window });
    }

    // Frames the panel needs at t, from the server's hints; a message when they are not in the recording.
    missingContext() {
      const info = state.info, t = state.t;
      let lo = t, hi = t + 1;
      if (this.kind === "frame" && this.method !== "raw") {
        const w = this.window || (this.method === "mean" ? 41 : info.windows[this.method]);
        if (w) { lo = t - Math.floor(w / 2); hi = lo + w; }
      } else if (this.kind === "flow") {
        const n = info.flow_windows[this.method] || 1;
        lo = t - Math.floor(n / 2);
        hi = t + this.dt - Math.floor(n / 2) + n;
      }
      if (lo >= first() && hi <= end()) return null;
      const has = state.live ? "the live buffer holds" : "the recording has";
      return `frame ${t}: this panel needs frames [${lo}, ${hi}), ${has} [${first()}, ${end()})`;
    }

    // Frames the panel needs after t (how far behind the newest frame it can follow a live feed).
    rightContext() {
      const info = state.info;
      if (this.kind === "frame" && this.method !== "raw") {
        const w = this.window || (this.method === "mean" ? 41 : info.windows[this.method]) || 1;
        return w - 1 - Math.floor(w / 2);
      }
      if (this.kind === "flow") {
        const n = info.flow_windows[this.method] || 1;
        return this.dt - Math.floor(n / 2) + n - 1;
      }
      return 0;
    }

    // Called on every change of t or of the panel's settings.
    request() {
      clearTimeout(this.timer);
      const missing = this.missingContext();
      if (missing) { this.pending = null; this.showMessage(missing); return; }
      let delay = 0;
      if (this.learned && state.following) {
        delay = 0;                    // live: at its own rate (one request in flight, the latest wins)
      } else if (this.learned) {
        if (state.playing) { this.showMessage("paused during playback (learned method)"); return; }
        delay = 350;
      } else if (this.kind !== "frame") {
        delay = state.playing ? 0 : 120;
      }
      if (delay) this.timer = setTimeout(() => this.load(this.src()), delay);
      else this.load(this.src());
    }

    async load(src) {
      if (src === this.shown) return;
      if (this.loading) { this.pending = src; return; }
      this.loading = true;
      this.el.classList.add("busy");
      busy(1);
      try {
        const resp = await fetch(src);
        if (resp.status === 410) {
          this.shown = null;              // a live buffer moved on: keep the picture, ask again at the next frame
        } else if (!resp.ok) {
          this.showMessage(await errorText(resp));
        } else {
          const blob = await resp.blob();
          const next = URL.createObjectURL(blob);
          await new Promise((resolve) => {
            this.img.onload = resolve;
            this.img.onerror = resolve;
            this.img.src = next;
          });
          if (this.objectURL) URL.revokeObjectURL(this.objectURL);
          this.objectURL = next;
          this.shown = src;
          this.el.classList.remove("failed");
          this.el.dataset.loaded = String(Date.now());
          this.markPainted();
          if (this.kind === "ratemap") this.updateHot();
        }
      } catch (err) {
        this.showMessage(String(err && err.message ? err.message : err));
      } finally {
        busy(-1);
        this.loading = false;
        this.el.classList.remove("busy");
        const next = this.pending;
        this.pending = null;
        // Ask again for what is wanted now (a live buffer may have moved on since the URL was made).
        if (next && next !== this.shown) this.request();
      }
    }

    showMessage(text) {
      this.msg.textContent = text;
      this.el.classList.add("failed");
      this.shown = null;
    }

    async updateHot() {
      try {
        const h = await getJSON("/api/hotpixels", { t: state.t, window: this.window });
        this.note.textContent = `${h.count} hot pixel${h.count === 1 ? "" : "s"} (red), mean ${h.mean_rate.toFixed(4)} spikes/frame`;
      } catch (err) {
        this.note.textContent = "";
      }
    }
  }

  function numberInput(value, min, max, title) {
    const el = document.createElement("input");
    el.type = "number";
    el.min = String(min);
    el.max = String(max);
    el.value = String(value);
    el.title = title;
    return el;
  }

  function addPanel(panel) {
    state.panels.push(panel);
    $("panels").appendChild(panel.el);
    sizeViewports();
    panel.request();
  }

  function removePanel(panel) {
    state.panels = state.panels.filter((p) => p !== panel);
    panel.el.remove();
  }

  // ------------------------------------------------------------------ zoom and pan (all panels together)
  function sizeViewports() {
    const info = state.info;
    if (!info) return;
    const avail = Math.max(200, ($("panels").clientWidth - 24) / 3);
    state.boxW = Math.round(Math.min(info.width, Math.max(avail, 160)));
    if (info.width < 160) state.boxW = Math.round(Math.max(160, avail / 2));
    state.base = state.boxW / info.width;
    state.boxH = Math.round(info.height * state.base);
    for (const p of state.panels) {
      p.vp.style.width = `${state.boxW}px`;
      p.vp.style.height = `${state.boxH}px`;
    }
    applyTransform();
  }

  function applyTransform() {
    const s = state.base * state.zoom;
    const tf = `translate(${state.tx}px, ${state.ty}px) scale(${s})`;
    for (const p of state.panels) {
      p.img.style.width = `${state.info.width}px`;
      p.img.style.height = `${state.info.height}px`;
      p.img.style.transform = tf;
    }
    placeMarkers();
  }

  function clampPan() {
    const s = state.base * state.zoom;
    const w = state.info.width * s, h = state.info.height * s;
    state.tx = Math.min(0, Math.max(state.boxW - w, state.tx));
    state.ty = Math.min(0, Math.max(state.boxH - h, state.ty));
  }

  function toPixel(vp, ev) {
    const r = vp.getBoundingClientRect();
    const s = state.base * state.zoom;
    return { x: Math.floor((ev.clientX - r.left - state.tx) / s), y: Math.floor((ev.clientY - r.top - state.ty) / s) };
  }

  function visibleCrop() {
    const s = state.base * state.zoom;
    const x0 = Math.max(0, Math.floor(-state.tx / s)), y0 = Math.max(0, Math.floor(-state.ty / s));
    const x1 = Math.min(state.info.width, Math.ceil((state.boxW - state.tx) / s));
    const y1 = Math.min(state.info.height, Math.ceil((state.boxH - state.ty) / s));
    return [y0, x0, y1, x1];
  }

  function attachViewportEvents(vp) {
    let drag = null;
    vp.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = vp.getBoundingClientRect();
      const mx = ev.clientX - r.left, my = ev.clientY - r.top;
      const old = state.base * state.zoom;
      state.zoom = Math.min(64, Math.max(1, state.zoom * (ev.deltaY < 0 ? 1.25 : 0.8)));
      const s = state.base * state.zoom;
      state.tx = mx - (mx - state.tx) * (s / old);
      state.ty = my - (my - state.ty) * (s / old);
      clampPan();
      applyTransform();
    }, { passive: false });
    vp.addEventListener("mousedown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY, tx: state.tx, ty: state.ty, moved: false };
      ev.preventDefault();
    });
    window.addEventListener("mousemove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      state.tx = drag.tx + dx;
      state.ty = drag.ty + dy;
      clampPan();
      applyTransform();
    });
    window.addEventListener("mouseup", (ev) => {
      if (drag && !drag.moved && ev.target && vp.contains(ev.target)) selectPixel(toPixel(vp, ev));
      drag = null;
    });
    vp.addEventListener("mousemove", (ev) => {
      const p = toPixel(vp, ev);
      if (p.x >= 0 && p.y >= 0 && p.x < state.info.width && p.y < state.info.height) {
        $("hover").textContent = `pixel y ${p.y}, x ${p.x}`;
      }
    });
    vp.addEventListener("mouseleave", () => { $("hover").textContent = ""; });
  }

  function placeMarkers() {
    const s = state.base * state.zoom;
    for (const p of state.panels) {
      if (!state.pixel) { p.marker.style.display = "none"; continue; }
      p.marker.style.display = "block";
      p.marker.style.left = `${state.tx + (state.pixel.x + 0.5) * s}px`;
      p.marker.style.top = `${state.ty + (state.pixel.y + 0.5) * s}px`;
    }
  }

  // ------------------------------------------------------------------ pixel inspector
  function selectPixel(p) {
    if (p.x < 0 || p.y < 0 || p.x >= state.info.width || p.y >= state.info.height) return;
    state.pixel = p;
    placeMarkers();
    inspect();
  }

  let inspectTimer = null;
  function inspect() {
    if (!state.pixel) return;
    clearTimeout(inspectTimer);
    inspectTimer = setTimeout(async () => {
      const w = Number($("pixel-window").value) || 400;
      try {
        const d = await getJSON("/api/pixel", { y: state.pixel.y, x: state.pixel.x, t: state.t, window: w });
        drawRaster(d);
        const mi = d.mean_interval === null ? "\u2013" : d.mean_interval.toFixed(2);
        $("pixel-info").textContent =
          `pixel (y ${d.y}, x ${d.x}): ${d.spikes.length} spikes in frames [${d.start}, ${d.stop}), ` +
          `rate ${d.rate.toFixed(4)} spikes/frame, mean interval ${mi} frames`;
        const shown = d.intervals.slice(0, 60).join(" ");
        $("intervals").textContent = d.intervals.length
          ? `intervals (frames): ${shown}${d.intervals.length > 60 ? " \u2026" : ""}` : "no intervals in the window";
      } catch (err) {
        $("pixel-info").textContent = String(err.message || err);
      }
    }, state.playing ? 300 : 60);
  }

  function drawRaster(d) {
    const c = $("raster");
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * dpr);
    c.height = Math.round(c.clientHeight * dpr);
    const g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    const span = Math.max(1, d.stop - d.start);
    const xOf = (f) => ((f - d.start + 0.5) / span) * c.width;
    g.strokeStyle = "#7fd4ff";
    g.lineWidth = Math.max(1, dpr);
    g.beginPath();
    for (const f of d.spikes) {
      const x = Math.round(xOf(f)) + 0.5;
      g.moveTo(x, c.height * 0.15);
      g.lineTo(x, c.height * 0.85);
    }
    g.stroke();
    g.strokeStyle = "#ffcc55";
    g.beginPath();
    const xt = Math.round(xOf(d.t)) + 0.5;
    g.moveTo(xt, 0);
    g.lineTo(xt, c.height);
    g.stroke();
  }

  // ------------------------------------------------------------------ time
  function setT(t, fromSlider) {
    if (!state.info || !state.info.frames) return;
    t = Math.max(first(), Math.min(end() - 1, Math.round(t)));
    if (t === state.t && state.panels.every((p) => p.shown || p.loading)) return;
    state.t = t;
    if (!fromSlider) $("timeline").value = String(t);
    updateReadout();
    for (const p of state.panels) p.request();
    drawRate();
    if (state.pixel) inspect();
  }

  function countAt(t) {
    const i = t - state.countsStart;
    return state.counts && i >= 0 && i < state.counts.length ? state.counts[i] : null;
  }

  function updateReadout() {
    const t = state.t;
    const ms = (t / state.info.rate_hz) * 1e3;
    const k = countAt(t);
    const c = k === null ? "" : ` \u00b7 ${k} spikes`;
    const range = state.live ? `held ${first()}\u2013${end() - 1}` : `${end() - 1}`;
    $("readout").textContent = `frame ${t} / ${range} \u00b7 ${ms.toFixed(3)} ms${c}`;
  }

  function tick(now) {
    if (!state.playing) return;
    const speed = Number($("speed").value);
    const dt = state.lastTick ? (now - state.lastTick) / 1000 : 0;
    state.lastTick = now;
    // Advance only when the main panels have caught up, so playback never queues requests.
    const ready = state.panels.every((p) => p.learned || !p.loading);
    if (ready) {
      state.carry += speed * dt;
      const step = Math.floor(state.carry);
      if (step >= 1) {
        state.carry -= step;
        if (state.t + step >= end()) { setPlaying(false); return; }
        setT(state.t + step);
      }
    }
    requestAnimationFrame(tick);
  }

  function setPlaying(on) {
    if (on && state.following) setFollow(false);
    state.playing = on && !!state.info && state.info.frames > 0;
    $("play").textContent = state.playing ? "Pause" : "Play";
    state.lastTick = 0;
    state.carry = 0;
    if (state.playing) requestAnimationFrame(tick);
    else for (const p of state.panels) p.request();   // learned panels catch up
  }

  // ------------------------------------------------------------------ rate plot
  function drawRate() {
    const c = $("rate");
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(c.clientWidth * dpr)), H = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== W) c.width = W;
    if (c.height !== H) c.height = H;
    const g = c.getContext("2d");
    g.clearRect(0, 0, W, H);
    const n = state.info ? state.info.frames : 0;
    if (!n) return;
    if (state.counts && state.counts.length === n && state.countsStart === first()) {
      if (!state.rateBins || state.rateBins.width !== W) state.rateBins = binCounts(state.counts, W);
      // Drawn between the smallest and the largest count, so that changes stand out.
      const { min, max, mean, top, low } = state.rateBins;
      const span = Math.max(1, top - low);
      const yOf = (v) => H - 2 - ((v - low) / span) * (H - 16);
      g.fillStyle = "#2f6f9f";
      for (let x = 0; x < W; x++) {
        const y0 = yOf(max[x]), y1 = yOf(min[x]);
        g.fillRect(x, y0, 1, Math.max(1, y1 - y0));
      }
      g.fillStyle = "#8cc8f0";
      for (let x = 0; x < W; x++) g.fillRect(x, yOf(mean[x]) - 1, 1, 2);
      g.fillStyle = "#c8c8c8";
      g.font = `${11 * dpr}px sans-serif`;
      g.fillText(`spikes per frame: ${low} to ${top}`, 4, 11 * dpr);
    } else {
      g.fillStyle = "#777";
      g.font = `${11 * dpr}px sans-serif`;
      g.fillText("counting spikes\u2026", 4, 14 * dpr);
    }
    const x = ((state.t - first() + 0.5) / n) * W;
    g.fillStyle = "#ffcc55";
    g.fillRect(Math.floor(x), 0, Math.max(1, dpr), H);
  }

  function binCounts(counts, W) {
    const n = counts.length;
    const min = new Float64Array(W), max = new Float64Array(W), mean = new Float64Array(W);
    let top = 0, low = Infinity;
    for (let x = 0; x < W; x++) {
      const a = Math.floor((x * n) / W), b = Math.max(a + 1, Math.floor(((x + 1) * n) / W));
      let lo = Infinity, hi = 0, s = 0, k = 0;
      for (let i = a; i < b && i < n; i++) { const v = counts[i]; if (v > hi) hi = v; if (v < lo) lo = v; s += v; k++; }
      if (!k) { lo = 0; k = 1; }
      min[x] = lo; max[x] = hi; mean[x] = s / k;
      if (hi > top) top = hi;
      if (lo < low) low = lo;
    }
    return { min, max, mean, top, low: Number.isFinite(low) ? low : 0, width: W };
  }

  function seekFromRate(ev) {
    const r = $("rate").getBoundingClientRect();
    if (state.live) setFollow(false);
    setT(first() + ((ev.clientX - r.left) / r.width) * state.info.frames);
  }

  // ------------------------------------------------------------------ exports
  function exportStatus(text, bad) {
    const el = $("ex-status");
    el.textContent = text;
    el.classList.toggle("error", !!bad);
  }

  async function postExport(body) {
    exportStatus("exporting\u2026", false);
    busy(1);
    try {
      const resp = await fetch(url("/api/export", {}), {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ file: state.file, ...body }),
      });
      if (!resp.ok) { exportStatus(await errorText(resp), true); return; }
      const d = await resp.json();
      exportStatus(`wrote ${d.name} (${d.bytes} bytes) in the export folder`, false);
    } catch (err) {
      exportStatus(String(err.message || err), true);
    } finally {
      busy(-1);
    }
  }

  function exportPNG(panel) {
    const body = { kind: "png", t: state.t, crop: visibleCrop() };
    if (panel.kind === "frame") Object.assign(body, { panel: "frame", method: panel.method, window: panel.window });
    else if (panel.kind === "flow") Object.assign(body, { panel: "flow", method: panel.method, dt: panel.dt, arrows: panel.arrows });
    else Object.assign(body, { panel: "ratemap", window: panel.window });
    if (body.window === null) delete body.window;
    postExport(body);
  }

  function exportRange() {
    const kind = $("ex-kind").value;
    const body = { kind, start: Number($("ex-start").value), stop: Number($("ex-stop").value) };
    if (kind !== "dat") {
      body.method = $("ex-method").value;
      body.every = Number($("ex-every").value) || 1;
      const panel = state.panels.find((p) => p.kind === "frame" && p.method === body.method);
      if (panel && panel.window) body.window = panel.window;
    }
    postExport(body);
  }

  // ------------------------------------------------------------------ files
  async function loadFiles() {
    const d = await getJSON("/api/files", {});
    const ul = $("file-list");
    ul.textContent = "";
    let first = null;
    for (const f of d.files) {
      const li = document.createElement("li");
      li.dataset.id = String(f.id);
      if (f.error) {
        li.className = "bad";
        li.textContent = `${f.name} (cannot open)`;
        li.title = f.error;
      } else {
        li.textContent = f.name;
        li.title = `${f.frames} frames, ${f.height} x ${f.width}`;
        li.addEventListener("click", () => openFile(f.id));
        if (first === null) first = f.id;
      }
      ul.appendChild(li);
    }
    $("exporter").hidden = !d.exports;
    if (first !== null) await openFile(first);
  }

  async function openFile(id) {
    setPlaying(false);
    clearTimeout(state.pollTimer);
    state.file = id;
    for (const li of $("file-list").children) li.classList.toggle("active", li.dataset.id === String(id));
    let info = await getJSON("/api/info", {});
    state.info = info;
    state.live = !!info.live;
    state.following = false;
    state.counts = null;
    state.countsStart = 0;
    state.rateBins = null;
    state.pixel = null;
    state.zoom = 1; state.tx = 0; state.ty = 0;
    for (const p of state.panels) p.el.remove();
    state.panels = [];
    $("live-bar").hidden = !state.live;
    $("play").title = state.live ? "Play through the held frames" : "Play / pause (Space)";
    if (state.live) {
      await setFollow(true, false);
      while (state.file === id && !state.info.frames) {   // a socket feed waits for its sender
        showLiveStatus();
        $("readout").textContent = "no frames yet";
        await new Promise((resolve) => setTimeout(resolve, 300));
        state.info = await fetchJSON("/api/info", {});
      }
      if (state.file !== id) return;
      info = state.info;
    }
    $("timeline").min = String(first());
    $("timeline").max = String(Math.max(first(), end() - 1));
    const sel = $("ex-method");
    sel.textContent = "";
    for (const m of info.methods) {
      const o = document.createElement("option");
      o.value = m; o.textContent = m;
      sel.appendChild(o);
    }
    sel.value = "tfp";
    if (!sel.value) sel.value = "raw";
    state.t = -1;
    addPanel(new Panel("frame", { method: "raw", title: "Spikes" }));
    addPanel(new Panel("frame", { method: "mean", window: 41, title: "Mean" }));
    addPanel(new Panel("frame", { method: info.methods.includes("tfp") ? "tfp" : "raw", title: "Reconstruction", window: 41 }));
    addPanel(new Panel("flow", { method: info.flow_methods.includes("classical") ? "classical" : info.flow_methods[0], title: "Flow" }));
    addPanel(new Panel("ratemap", { title: "Rate map" }));
    const t0 = state.live ? followT() : Math.min(info.frames - 1, 20);
    $("ex-start").value = String(t0);
    $("ex-stop").value = String(Math.min(end(), t0 + 200));
    setT(t0);
    drawRate();
    if (state.live) { poll(); return; }
    // The spike count of the whole file is asked for once the first panel is painted (or after 1 s),
    // so that counting a multi-GB file never delays the first picture.
    await Promise.race([state.panels[0].painted, new Promise((resolve) => setTimeout(resolve, 1000))]);
    if (state.file !== id) return;
    getJSON("/api/rate", {}).then((d) => {
      if (state.file !== id) return;
      state.counts = d.counts;
      state.countsStart = d.start;
      state.rateBins = null;
      drawRate();
      updateReadout();
    }).catch((err) => { $("readout").textContent += ` (rate: ${err.message || err})`; });
  }

  // ------------------------------------------------------------------ live feeds
  // The newest frame every panel can show: the end of the buffer less the context the panels need after t.
  function followT() {
    const lag = Math.max(0, ...state.panels.map((p) => p.rightContext()));
    return Math.max(first(), end() - 1 - lag);
  }

  function showLiveStatus() {
    const f = state.info.feed || {};
    let text = f.state === "waiting" ? "waiting for a sender\u2026"
      : `${f.state} \u00b7 ${f.received} frames received \u00b7 ${f.dropped} dropped`;
    if (f.held) text += ` \u00b7 held (${f.skipped} frames not kept)`;
    if (f.error) text += ` \u00b7 ${f.error}`;
    $("live-status").textContent = text;
  }

  // Follow the newest frame, or hold the buffer (the server stops taking frames into it) to scrub it.
  async function setFollow(on, tell = true) {
    if (!state.live) return;
    state.following = on;
    if (on && state.playing) { state.playing = false; $("play").textContent = "Play"; }
    $("follow").textContent = on ? "Following live" : "Follow live";
    $("follow").classList.toggle("on", on);
    try {
      const resp = await fetch(url("/api/live", {}), {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ hold: !on }),
      });
      if (resp.ok) { const d = await resp.json(); if (state.info && state.info.frames) state.info.feed = d.feed; }
    } catch (err) {
      $("live-status").textContent = String(err.message || err);
    }
    if (on && tell) { clearTimeout(state.pollTimer); poll(); }
  }

  // Spike counts of the held frames: drop those that left the buffer, fetch only the new ones.
  async function refreshCounts() {
    const a = first(), b = end();
    let c = state.counts;
    let a0 = a;
    if (!c || state.countsStart > a || state.countsStart + c.length < a) {
      const d = b > a ? await fetchJSON("/api/rate", { start: a, stop: b }) : { counts: [], start: a };
      c = d.counts;
      a0 = d.start;                       // the server counts the frames still held when it answers
    } else {
      if (a > state.countsStart) c = c.slice(a - state.countsStart);
      const have = a + c.length;
      if (have < b) {
        const d = await fetchJSON("/api/rate", { start: have, stop: b });
        if (d.start === have) c = c.concat(d.counts);
        else { c = d.counts; a0 = d.start; }   // what we had left the buffer meanwhile
      }
      if (a0 + c.length > b) c = c.slice(0, b - a0);
    }
    state.counts = c;
    state.countsStart = a0;
    state.rateBins = null;
  }

  async function poll() {
    if (!state.live || state.polling) return;
    state.polling = true;
    const id = state.file;
    try {
      const info = await fetchJSON("/api/info", {});
      if (state.file !== id) return;
      state.info = info;
      $("timeline").min = String(first());
      $("timeline").max = String(Math.max(first(), end() - 1));
      showLiveStatus();
      await refreshCounts();
      if (state.file !== id) return;
      if (state.following) setT(followT());
      else if (state.t < first() || state.t >= end()) setT(state.t);
      else { $("timeline").value = String(state.t); updateReadout(); drawRate(); }
    } catch (err) {
      $("live-status").textContent = `feed: ${err.message || err}`;
    } finally {
      state.polling = false;
      if (state.live && state.file === id) state.pollTimer = setTimeout(poll, state.following ? 100 : 500);
    }
  }

  // ------------------------------------------------------------------ wiring
  function isTyping(target) {
    return target && (target.tagName === "INPUT" && target.type !== "range" || target.tagName === "SELECT"
      || target.tagName === "TEXTAREA");
  }

  document.addEventListener("keydown", (ev) => {
    if (!state.info || isTyping(ev.target)) return;
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      ev.preventDefault();
      if (state.following) setFollow(false);
      const step = (ev.shiftKey ? 10 : 1) * (ev.key === "ArrowRight" ? 1 : -1);
      setT(state.t + step);
    } else if (ev.key === " " || ev.code === "Space") {
      ev.preventDefault();
      if (state.live && !state.playing) setFollow(!state.following);
      else setPlaying(!state.playing);
    }
  });

  $("timeline").addEventListener("input", (ev) => {
    if (state.following) setFollow(false);
    setT(Number(ev.target.value), true);
  });
  $("follow").addEventListener("click", () => setFollow(!state.following));
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("reset-zoom").addEventListener("click", () => { state.zoom = 1; state.tx = 0; state.ty = 0; applyTransform(); });
  $("add-panel").addEventListener("click", () => {
    if (!state.info) return;
    const m = state.info.methods.includes("atfi") ? "atfi" : state.info.methods[state.info.methods.length - 1];
    addPanel(new Panel("frame", { method: m, title: "Reconstruction", window: 41, closable: true }));
  });
  $("pixel-window").addEventListener("change", inspect);
  $("ex-go").addEventListener("click", exportRange);
  let rateDrag = false;
  $("rate").addEventListener("mousedown", (ev) => { rateDrag = true; seekFromRate(ev); });
  window.addEventListener("mousemove", (ev) => { if (rateDrag) seekFromRate(ev); });
  window.addEventListener("mouseup", () => { rateDrag = false; });
  window.addEventListener("resize", () => { state.rateBins = null; sizeViewports(); drawRate(); });

  loadFiles().catch((err) => { $("readout").textContent = `cannot load: ${err.message || err}`; });
})();
