// End-to-end test of the `lsms serve` console in headless Chromium.
//
//   node console.test.mjs URL OUTDIR SLICE.png EXPR THRESHOLD [SERIES_DIR]
//
// Opens URL (which may carry ?token=), loads SLICE.png through the file
// input, types EXPR and THRESHOLD, clicks Segment, waits for the overlay,
// checks that latency and measurements are shown, and writes to OUTDIR:
//   segment.json  the /api/segment response the page received
//   overlay.png   the canvas with the mask (W/L 40/400)
//   nomask.png    the canvas with the mask hidden
//   wl.png        the canvas after moving the W/L controls to -600/1500
//   page.json     the canvas geometry and W/L states
//   page.png      the whole page after segmenting
// With SERIES_DIR (DICOM files of one series) it then loads the series,
// moves the slice slider, clicks Segment series and waits for the volume:
//   series.json   that /api/segment response
// The Go test (cmd/lsms TestServeBrowser) checks the pixels against the
// mask. Any request to another origin, console error or page error fails
// the test: the console must work offline. Exit status 0 on success, 1 with
// a message on failure.
import { chromium } from 'playwright-core';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const [url, outDir, slicePath, expr, threshold, seriesDir] = process.argv.slice(2);
if (!url || !outDir || !slicePath || !expr || !threshold) {
  console.error('usage: node console.test.mjs URL OUTDIR SLICE.png EXPR THRESHOLD');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const origin = new URL(url).origin;
const problems = [];

function fail(msg) {
  throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let code = 0;
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(30000);
  // Offline: abort and record anything not from the console server.
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) {
      problems.push('request to another origin: ' + u);
      return route.abort();
    }
    return route.continue();
  });
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  const resp = await page.goto(url);
  if (!resp.ok()) fail(`GET ${url}: ${resp.status()}`);
  if (new URL(page.url()).search.includes('token')) fail('the token stayed in the address bar: ' + page.url());
  // Model information arrives (through the token cookie when there is one).
  await page.waitForFunction(() => /threshold/.test(document.getElementById('model').textContent));

  const canvas = page.locator('#view');
  await page.locator('#file').setInputFiles(slicePath);
  await page.waitForSelector('#view[data-state="image"]');
  await page.waitForFunction(() => /Loaded 1 slice/.test(document.getElementById('status').textContent));
  if (!(await page.locator('#segment').isEnabled())) fail('Segment is disabled after loading a slice');

  await page.locator('#expr').fill(expr);
  await page.locator('#threshold').fill(threshold);
  const segResp = page.waitForResponse((r) => r.url() === origin + '/api/segment');
  await page.locator('#segment').click();
  const sr = await segResp;
  if (sr.status() !== 200) fail(`/api/segment: ${sr.status()} ${await sr.text()}`);
  const seg = await sr.json();
  await writeFile(path.join(outDir, 'segment.json'), JSON.stringify(seg));
  await page.waitForSelector('#view[data-overlay="1"]');

  // Latency and measurements are on the page.
  const latency = await page.locator('#latency').innerText();
  for (const stage of ['vision', 'text encoder', 'server total', 'round trip']) {
    if (!latency.includes(stage)) fail(`latency table lacks "${stage}": ${latency}`);
  }
  if (!/vision\s+\d+\.\d\d/.test(latency)) fail('no vision latency in ms: ' + latency);
  const lesions = await page.locator('#lesions').innerText();
  const r0 = seg.results[0];
  if (r0.lesion_count < 1) fail('the API found no lesion (choose a lower threshold)');
  if (!lesions.includes('mm²') || !lesions.includes('diameter mm') || !lesions.includes(`${r0.lesion_count} lesion`)) {
    fail('measurements not shown: ' + lesions);
  }
  const first = r0.lesions[0];
  if (!lesions.includes(first.area_mm2.toFixed(1)) || !lesions.includes(first.longest_diameter_mm.toFixed(1))) {
    fail(`largest lesion (${first.area_mm2} mm², ${first.longest_diameter_mm} mm) not in the table: ${lesions}`);
  }
  const status = await page.locator('#status').innerText();
  if (!status.includes('Segmented 1 slice')) fail('status: ' + status);

  const geometry = async () => canvas.evaluate((c) => ({
    width: c.width, height: c.height, cssWidth: c.clientWidth, cssHeight: c.clientHeight,
    wl: c.dataset.wl, overlay: c.dataset.overlay,
  }));
  const states = {};
  states.overlay = await geometry();
  const shotOverlay = await canvas.screenshot({ path: path.join(outDir, 'overlay.png') });
  await page.screenshot({ path: path.join(outDir, 'page.png') });

  await page.locator('#show-mask').uncheck();
  await page.waitForSelector('#view[data-overlay="0"]');
  states.nomask = await geometry();
  const shotNoMask = await canvas.screenshot({ path: path.join(outDir, 'nomask.png') });
  if (shotNoMask.equals(shotOverlay)) fail('hiding the mask did not change the canvas');
  await page.locator('#show-mask').check();
  await page.waitForSelector('#view[data-overlay="1"]');

  // Move the W/L controls (the range sliders).
  await page.locator('#level').fill('-600');
  await page.locator('#width').fill('1500');
  await page.waitForSelector('#view[data-wl="-600,1500"]');
  if (await page.locator('#level-num').inputValue() !== '-600') fail('the level field did not follow its slider');
  await page.locator('#show-mask').uncheck();
  await page.waitForSelector('#view[data-overlay="0"]');
  states.wl = await geometry();
  const shotWL = await canvas.screenshot({ path: path.join(outDir, 'wl.png') });
  if (shotWL.equals(shotNoMask)) fail('moving the W/L controls did not change the canvas');

  await writeFile(path.join(outDir, 'page.json'), JSON.stringify(states));

  if (seriesDir) {
    await page.locator('#show-mask').check();
    const files = (await readdir(seriesDir)).filter((f) => f.endsWith('.dcm')).sort().reverse()
      .map((f) => path.join(seriesDir, f));
    await page.locator('#file').setInputFiles(files);
    await page.waitForFunction((n) => document.getElementById('status').textContent.startsWith(`Loaded ${n} slices`), files.length);
    const chosen = await page.locator('#series option:checked').innerText();
    if (!chosen.includes(`(${files.length} slices)`)) fail('series not selected: ' + chosen);
    if (!(await page.locator('#slice').isEnabled())) fail('the slice slider is disabled for a series');
    await page.locator('#slice').fill(String(files.length - 1));
    await page.waitForFunction((n) => document.getElementById('slice-label').textContent.startsWith(`${n} / ${n}`), files.length);
    const seriesResp = page.waitForResponse((r) => r.url() === origin + '/api/segment');
    await page.locator('#segment-series').click();
    const ser = await seriesResp;
    if (ser.status() !== 200) fail(`/api/segment (series): ${ser.status()} ${await ser.text()}`);
    const sj = await ser.json();
    await writeFile(path.join(outDir, 'series.json'), JSON.stringify(sj));
    if (!sj.volume) fail('no volume for the series: ' + sj.volume_note);
    await page.waitForFunction(() => /mL over \d+ slices/.test(document.getElementById('volume').textContent));
    const vol = await page.locator('#volume').innerText();
    if (!vol.includes(sj.volume.volume_ml.toFixed(2) + ' mL over ' + files.length + ' slices')) fail('volume not shown: ' + vol);
    await page.screenshot({ path: path.join(outDir, 'series.png') });
  }
  if (problems.length) fail(problems.join('\n'));
  console.log(`ok: ${r0.pixels} mask pixels, ${r0.lesion_count} lesions, vision ${r0.latency_ms.vision} ms, canvas ${states.overlay.cssWidth}×${states.overlay.cssHeight}`);
} catch (e) {
  let status = '';
  try { status = page ? await page.locator('#status').innerText({ timeout: 1000 }) : ''; } catch (_) { /* page gone */ }
  console.error('FAIL: ' + e.message + (status ? '\npage status: ' + status : '') + (problems.length ? '\n' + problems.join('\n') : ''));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
