// LSMS console: loads slices, windows them client-side, segments them
// through /api/segment and draws the mask over the slice. No dependencies;
// everything it fetches comes from this server.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const canvas = $('view');
  const ctx = canvas.getContext('2d');

  const state = {
    info: null,
    series: [], // [{key, name, slices: [meta]}]
    cur: -1, // index into series
    idx: 0, // index into the current series' slices
    hu: new Map(), // id -> Int16Array (a bounded cache)
    results: new Map(), // id -> {res, mask, expr, threshold, roundTripMS}
    seriesResult: new Map(), // series key -> {volume, note, expr, threshold}
    level: 40,
    width: 400,
    busy: false,
    loading: 0,
  };
  const HU_CACHE = 400;

  // ---- helpers -------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  function fmt(x, digits = 1) {
    return Number.isFinite(x) ? x.toFixed(digits) : '–';
  }

  function status(msg, isError = false) {
    const s = $('status');
    s.textContent = msg;
    s.classList.toggle('error', isError);
  }

  async function api(path, opts = {}) {
    let r;
    try {
      r = await fetch(path, { credentials: 'same-origin', ...opts });
    } catch (e) {
      throw new Error('the console server does not answer (' + e.message + ')');
    }
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try {
        const j = await r.json();
        if (j.error) msg = j.error;
        if (j.errors && j.errors.length > 1) {
          msg += ' — ' + j.errors.map((e) => e.file + ': ' + e.error).join('; ');
        }
      } catch (_) { /* not JSON */ }
      if (r.status === 401) msg = 'This console needs its access token: open it as /?token=TOKEN. (' + msg + ')';
      throw new Error(msg);
    }
    return r;
  }

  function current() {
    const s = state.series[state.cur];
    return s ? s.slices[state.idx] : null;
  }

  // ---- model information --------------------------------------------------

  async function loadInfo() {
    try {
      const j = await (await api('/api/info')).json();
      state.info = j;
      const m = j.model;
      $('model').textContent = `${m.name || 'model'} · ${m.precision || '?'} · ${m.backend || ''} · input ${m.input_size} · threshold ${m.threshold}`;
      $('threshold').placeholder = `bundle default ${m.threshold}`;
      $('version').textContent = j.version ? 'lsms ' + j.version : '';
    } catch (e) {
      $('model').textContent = '';
      status(e.message, true);
    }
  }

  // ---- loading slices -----------------------------------------------------

  function posCmp(a, b) {
    return (a.position_mm - b.position_mm) || (a.instance || 0) - (b.instance || 0) || a.name.localeCompare(b.name);
  }

  async function upload(files) {
    if (!files || files.length === 0) return;
    const fd = new FormData();
    fd.append('hu_offset', $('hu-offset').value || '32768');
    fd.append('pixel_spacing', $('png-spacing').value.trim());
    for (const f of files) fd.append('file', f, f.name);
    status(`Loading ${files.length} file${files.length > 1 ? 's' : ''}…`);
    state.loading++;
    try {
      const j = await (await api('/api/slices', { method: 'POST', body: fd })).json();
      const byId = new Map(j.slices.map((s) => [s.id, s]));
      let first = -1;
      for (const sr of j.series) {
        const metas = sr.slices.map((id) => byId.get(id));
        let k = state.series.findIndex((s) => s.key === sr.key);
        if (k < 0) {
          state.series.push({ key: sr.key, name: sr.name, slices: metas });
          k = state.series.length - 1;
        } else {
          const s = state.series[k];
          s.slices = s.slices.concat(metas).sort(posCmp);
          s.name = `${metas[0].series_name.replace(/ \(\d+ slices\)$/, '')} (${s.slices.length} slices)`;
        }
        if (first < 0) first = k;
      }
      fillSeries();
      let msg = `Loaded ${j.slices.length} slice${j.slices.length > 1 ? 's' : ''}.`;
      if (j.errors && j.errors.length) {
        msg += ` ${j.errors.length} file${j.errors.length > 1 ? 's' : ''} refused: ` + j.errors.map((e) => e.file + ': ' + e.error).join('; ');
      }
      status(msg, !!(j.errors && j.errors.length));
      await selectSeries(first, 0);
    } catch (e) {
      status('Upload failed: ' + e.message, true);
    } finally {
      state.loading--;
      $('file').value = '';
    }
  }

  function fillSeries() {
    const sel = $('series');
    sel.replaceChildren(...state.series.map((s, i) => el('option', { value: String(i) }, s.name)));
    sel.disabled = state.series.length === 0;
  }

  async function selectSeries(k, idx) {
    if (k < 0 || k >= state.series.length) return;
    state.cur = k;
    $('series').value = String(k);
    const n = state.series[k].slices.length;
    const sl = $('slice');
    sl.max = String(n - 1);
    sl.disabled = n < 2;
    await selectSlice(Math.min(idx, n - 1));
  }

  async function selectSlice(i) {
    const s = state.series[state.cur];
    if (!s) return;
    state.idx = Math.max(0, Math.min(i, s.slices.length - 1));
    $('slice').value = String(state.idx);
    const meta = current();
    $('slice-label').textContent = `${state.idx + 1} / ${s.slices.length} · ${meta.name} · ${meta.cols}×${meta.rows}`;
    if (!state.hu.has(meta.id)) {
      try {
        const buf = await (await api(`/api/slices/${encodeURIComponent(meta.id)}/hu`)).arrayBuffer();
        const dv = new DataView(buf);
        const hu = new Int16Array(buf.byteLength / 2);
        for (let j = 0; j < hu.length; j++) hu[j] = dv.getInt16(2 * j, true);
        if (hu.length !== meta.rows * meta.cols) throw new Error(`slice ${meta.id}: ${hu.length} pixels, want ${meta.rows * meta.cols}`);
        state.hu.set(meta.id, hu);
        if (state.hu.size > HU_CACHE) state.hu.delete(state.hu.keys().next().value);
      } catch (e) {
        status(e.message, true);
        return;
      }
    }
    if (current() !== meta) return; // another slice was chosen meanwhile
    $('segment').disabled = state.busy;
    $('segment-series').disabled = state.busy || s.slices.length < 2;
    render();
    showResult();
  }

  // ---- drawing -------------------------------------------------------------

  function render() {
    const meta = current();
    const hu = meta && state.hu.get(meta.id);
    if (!hu) return;
    const { rows, cols } = meta;
    if (canvas.width !== cols || canvas.height !== rows) {
      canvas.width = cols;
      canvas.height = rows;
    }
    const img = ctx.createImageData(cols, rows);
    const d = img.data;
    const lo = state.level - state.width / 2;
    const scale = 255 / state.width;
    const r = state.results.get(meta.id);
    const mask = r && $('show-mask').checked ? r.mask : null;
    const a = Number($('opacity').value);
    for (let i = 0, n = rows * cols; i < n; i++) {
      let g = (hu[i] - lo) * scale;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      const o = 4 * i;
      if (mask && mask[i]) {
        // The mask in red: grey × (1 − a) + (255, 0, 0) × a.
        const k = g * (1 - a);
        d[o] = k + 255 * a;
        d[o + 1] = k;
        d[o + 2] = k;
      } else {
        d[o] = d[o + 1] = d[o + 2] = g;
      }
      d[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    canvas.dataset.state = 'image';
    canvas.dataset.overlay = mask ? '1' : '0';
    canvas.dataset.wl = `${state.level},${state.width}`;
    $('drop-hint').hidden = true;
    fit();
  }

  // fit scales the canvas to the stage: an integer factor when it is
  // larger than the slice (crisp pixels), keeping the aspect ratio.
  function fit() {
    const meta = current();
    if (!meta) return;
    const st = $('stage');
    const w = Math.max(64, st.clientWidth - 16);
    const h = Math.max(64, st.clientHeight - 16);
    let s = Math.min(w / meta.cols, h / meta.rows);
    if (s >= 1) s = Math.floor(s);
    canvas.style.width = `${meta.cols * s}px`;
    canvas.style.height = `${meta.rows * s}px`;
  }

  // ---- window / level ------------------------------------------------------

  function setWL(level, width, from) {
    if (!Number.isFinite(level) || !Number.isFinite(width)) return;
    state.level = Math.round(Math.max(-2000, Math.min(4000, level)));
    state.width = Math.round(Math.max(1, Math.min(8000, width)));
    if (from !== 'level') $('level').value = String(state.level);
    if (from !== 'level-num') $('level-num').value = String(state.level);
    if (from !== 'width') $('width').value = String(state.width);
    if (from !== 'width-num') $('width-num').value = String(state.width);
    render();
  }

  for (const id of ['level', 'level-num']) {
    $(id).addEventListener('input', (e) => setWL(Number(e.target.value), state.width, id));
  }
  for (const id of ['width', 'width-num']) {
    $(id).addEventListener('input', (e) => setWL(state.level, Number(e.target.value), id));
  }
  for (const b of document.querySelectorAll('[data-wl]')) {
    b.addEventListener('click', () => {
      const [l, w] = b.dataset.wl.split(',').map(Number);
      setWL(l, w);
    });
  }

  let drag = null;
  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, level: state.level, width: state.width };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('pointercancel', () => { drag = null; });
  canvas.addEventListener('pointermove', (e) => {
    if (drag) {
      setWL(drag.level + 2 * (e.clientY - drag.y), drag.width + 2 * (e.clientX - drag.x));
    }
    readout(e);
  });
  canvas.addEventListener('pointerleave', () => { $('readout').innerHTML = '&nbsp;'; });
  canvas.addEventListener('wheel', (e) => {
    const s = state.series[state.cur];
    if (!s || s.slices.length < 2) return;
    e.preventDefault();
    selectSlice(state.idx + (e.deltaY > 0 ? 1 : -1));
  }, { passive: false });

  function readout(e) {
    const meta = current();
    const hu = meta && state.hu.get(meta.id);
    if (!hu) return;
    const rect = canvas.getBoundingClientRect();
    const c = Math.floor((e.clientX - rect.left) * meta.cols / rect.width);
    const r = Math.floor((e.clientY - rect.top) * meta.rows / rect.height);
    if (r < 0 || c < 0 || r >= meta.rows || c >= meta.cols) return;
    const i = r * meta.cols + c;
    const res = state.results.get(meta.id);
    $('readout').textContent = `row ${r}, col ${c}: ${hu[i]} HU` + (res ? (res.mask[i] ? ' · in mask' : ' · outside mask') : '') +
      ` · W/L ${state.width}/${state.level}`;
  }

  // ---- segmentation --------------------------------------------------------

  function decodeRLE(runs, n) {
    const m = new Uint8Array(n);
    let p = 0;
    runs.forEach((len, k) => {
      if (k & 1) m.fill(1, p, Math.min(n, p + len));
      p += len;
    });
    if (p !== n) throw new Error(`mask runs cover ${p} pixels, want ${n}`);
    return m;
  }

  function setBusy(b) {
    state.busy = b;
    const s = state.series[state.cur];
    $('segment').disabled = b || !current();
    $('segment-series').disabled = b || !s || s.slices.length < 2;
  }

  async function segment(ids) {
    const expr = $('expr').value.trim();
    if (!expr) {
      status('Type a referring expression first.', true);
      $('expr').focus();
      return;
    }
    const body = { slices: ids, expr };
    const t = $('threshold').value.trim();
    if (t !== '') body.threshold = Number(t);
    const s = state.series[state.cur];
    setBusy(true);
    status(ids.length > 1 ? `Segmenting ${ids.length} slices…` : 'Segmenting…');
    const t0 = performance.now();
    try {
      const j = await (await api('/api/segment', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })).json();
      const rt = performance.now() - t0;
      for (const res of j.results) {
        state.results.set(res.slice, {
          res, mask: decodeRLE(res.mask_rle, res.rows * res.cols), expr: j.expression, threshold: j.threshold,
          roundTripMS: ids.length === 1 ? rt : null,
        });
      }
      if (ids.length > 1) {
        state.seriesResult.set(s.key, { volume: j.volume, note: j.volume_note, expr: j.expression, threshold: j.threshold });
      }
      const px = j.results.reduce((a, r) => a + r.pixels, 0);
      status(`Segmented ${j.results.length} slice${j.results.length > 1 ? 's' : ''} for “${j.expression}” at threshold ${j.threshold}: ${px} mask pixels, ${fmt(j.total_ms)} ms on the server, ${fmt(rt)} ms round trip.`);
      render();
      showResult();
    } catch (e) {
      status('Segmentation failed: ' + e.message, true);
    } finally {
      setBusy(false);
    }
  }

  function table(head, rows) {
    return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
  }

  function showResult() {
    const meta = current();
    const r = meta && state.results.get(meta.id);
    const lat = $('latency');
    const les = $('lesions');
    const vol = $('volume');
    if (!r) {
      lat.replaceChildren('–');
      les.replaceChildren(meta ? 'Not segmented yet.' : '–');
    } else {
      const l = r.res.latency_ms;
      const rows = [
        ['tokenize', fmt(l.tokenize, 2)], ['text encoder' + (r.res.text_cached ? ' (cached)' : ''), fmt(l.text, 2)],
        ['preprocess', fmt(l.preprocess, 2)], ['vision', fmt(l.vision, 2)], ['postprocess', fmt(l.postprocess, 2)],
        ['model total', fmt(l.model, 2)], ['measure', fmt(l.measure, 2)], ['server total', fmt(l.total, 2)],
      ];
      if (r.roundTripMS != null) rows.push(['round trip (browser)', fmt(r.roundTripMS, 1)]);
      lat.replaceChildren(table(['stage', 'ms'], rows));
      const notes = [el('p', {}, `For “${r.expr}” at threshold ${r.threshold}; max probability ${fmt(r.res.max_probability, 3)}.`)];
      if (r.res.truncated) notes.push(el('p', {}, 'The expression was cut to fit the model’s token length.'));
      if (meta.spacing_assumed) notes.push(el('p', { class: 'muted' }, 'Pixel spacing unknown: 1 mm assumed.'));
      if (r.res.lesion_count === 0) {
        notes.push(el('p', {}, 'No lesion at this threshold.'));
      } else {
        notes.push(el('p', {}, `${r.res.lesion_count} lesion${r.res.lesion_count > 1 ? 's' : ''}, ${r.res.pixels} px, ${fmt(r.res.area_mm2)} mm² in all.`));
        if (r.res.lesion_count > r.res.lesions.length) notes.push(el('p', { class: 'muted' }, `The ${r.res.lesions.length} largest are listed.`));
        notes.push(table(['#', 'area mm²', 'diameter mm', 'centroid (row, col)'],
          r.res.lesions.map((x) => [x.label, fmt(x.area_mm2), fmt(x.longest_diameter_mm), `${fmt(x.centroid_px[0])}, ${fmt(x.centroid_px[1])}`])));
      }
      les.replaceChildren(...notes);
    }
    const s = state.series[state.cur];
    const sr = s && state.seriesResult.get(s.key);
    if (!sr) {
      vol.replaceChildren(s && s.slices.length > 1 ? 'Segment the series for its volume.' : '–');
    } else if (sr.volume) {
      const v = sr.volume;
      vol.replaceChildren(el('p', {}, `${fmt(v.volume_ml, 2)} mL over ${v.slices} slices (spacing ${fmt(v.slice_spacing_mm, 2)} mm from ${v.slice_spacing_from}` +
        `${v.gaps ? `, ${v.gaps} gaps` : ''}) for “${sr.expr}” at threshold ${sr.threshold}.`));
    } else {
      vol.replaceChildren(sr.note || '–');
    }
  }

  // ---- wiring --------------------------------------------------------------

  $('file').addEventListener('change', (e) => upload(Array.from(e.target.files)));
  $('series').addEventListener('change', (e) => selectSeries(Number(e.target.value), 0));
  $('slice').addEventListener('input', (e) => selectSlice(Number(e.target.value)));
  $('segment-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const m = current();
    if (m) segment([m.id]);
  });
  $('segment-series').addEventListener('click', () => {
    const s = state.series[state.cur];
    if (s) segment(s.slices.map((m) => m.id));
  });
  $('expr').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('segment-form').requestSubmit();
    }
  });
  $('show-mask').addEventListener('change', render);
  $('opacity').addEventListener('input', render);
  window.addEventListener('resize', fit);

  const stage = $('stage');
  stage.addEventListener('dragover', (e) => { e.preventDefault(); stage.classList.add('drag'); });
  stage.addEventListener('dragleave', () => stage.classList.remove('drag'));
  stage.addEventListener('drop', (e) => {
    e.preventDefault();
    stage.classList.remove('drag');
    upload(Array.from(e.dataTransfer.files));
  });

  loadInfo();
})();
