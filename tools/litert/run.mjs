// run.mjs — run TFLite models through LiteRT.js (the official TFLite/LiteRT
// runtime compiled to WebAssembly, XNNPACK CPU kernels) for conformance tests.
//
//   node tools/litert/run.mjs job.json
//
// job.json:
//   {"cases":[{"model":"/abs/m.tflite","inputs":["/abs/in0.npy",...],
//              "outdir":"/abs/out", "api":"auto", "warmup":0, "repeat":1}]}
//
// For each case it writes outdir/<i>.npy for output i and outdir/result.json.
// Inputs and outputs follow the first signature's subgraph order (LiteRT
// ignores the order a SignatureDef lists them in); names are SignatureDef
// names, or tensor names for a model without SignatureDefs:
//   {"ok":true,"api":"public"|"lowlevel","signature":"serving_default",
//    "outputs":[{"name":..,"dtype":..,"shape":[..]}],
//    "input_details":[{"name":..,"dtype":..,"shape":[..]}],
//    "variant":"litert_wasm_compat_internal","threads":1,
//    "compile_ms":12.3,"run_ms":[1.2,...],"ms":{..}}
//   {"ok":false,"error":"message"}
//
// Timing: "warmup" (default 0) untimed runs, then "repeat" (default 1)
// runs, each timed alone with performance.now() around the run call
// (model.run for "public", compiledModel.run for "lowlevel"); input tensors
// are filled once before them and outputs read after the last one, so
// run_ms holds the runtime's own time per inference. compile_ms is the
// time to load and compile the model for the path taken (loadAndCompile,
// or loadModel + compileModel). "variant" is the wasm build that loaded:
// Node 20 has no relaxed SIMD, so LiteRT.js picks
// litert_wasm_compat_internal (SIMD128, no threads); "threads" is what the
// runtime reports (getThreadCount) and what the CPU delegate is given.
// stdout gets {"ready":true,...} once the runtime has loaded and a summary
// line at the end. One failing case does not stop the batch. If the
// WebAssembly instance traps or aborts (its state is then unusable) the
// script writes that case's result and exits with status 3; the caller
// restarts it with the cases that have no result.json yet.
//
// "api" picks how tensors cross into the runtime:
//   "public"   — the documented LiteRT.js API (loadAndCompile, Tensor,
//                model.run). Its JS tensors only accept float32, int32, uint8.
//   "lowlevel" — the same wasm bindings that API wraps (loadModel,
//                compileModel, LiteRtTensorBuffer, compiledModel.run), used
//                directly so int8/int16/int64/bool/float16/float64 tensors work.
//   "auto"     — (default) "public" when every input and output dtype is one
//                it accepts, else "lowlevel". Both run the same compiled model.
//
// Set LITERT_VERBOSE=1 to see LiteRT's INFO log lines on stderr.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {createRequire} from 'node:module';
import {fileURLToPath, pathToFileURL} from 'node:url';

const require = createRequire(import.meta.url);
const corePkg = path.dirname(require.resolve('@litertjs/core/package.json'));
const wasmDir = path.join(corePkg, 'wasm');
const verbose = process.env.LITERT_VERBOSE === '1';

// ---- .npy ------------------------------------------------------------------

// dtype name -> [npy descr, bytes per element, LiteRT ElementType name]
const DTYPES = {
  float32: ['<f4', 4, 'FLOAT32'],
  float16: ['<f2', 2, 'FLOAT16'],
  float64: ['<f8', 8, 'FLOAT64'],
  int8: ['|i1', 1, 'INT8'],
  uint8: ['|u1', 1, 'UINT8'],
  int16: ['<i2', 2, 'INT16'],
  int32: ['<i4', 4, 'INT32'],
  int64: ['<i8', 8, 'INT64'],
  bool: ['|b1', 1, 'BOOL'],
};
const DESCR_TO_DTYPE = {};
for (const [name, [descr]] of Object.entries(DTYPES)) {
  DESCR_TO_DTYPE[descr] = name;
  DESCR_TO_DTYPE[descr.replace(/^[<|]/, '=')] = name;
  if (descr[0] === '|') DESCR_TO_DTYPE['<' + descr.slice(1)] = name;
}
const ELEMENT_TO_DTYPE = {};
for (const [name, [, , el]] of Object.entries(DTYPES)) ELEMENT_TO_DTYPE[el] = name;
const PUBLIC_DTYPES = new Set(['float32', 'int32', 'uint8']);
const TYPED = {float32: Float32Array, int32: Int32Array, uint8: Uint8Array};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const fail = (msg) => { throw new Error(`${file}: ${msg}`); };
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy file (bad magic)');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) {
    if (buf.length < 12) fail('truncated header');
    hlen = buf.readUInt32LE(8); hstart = 12;
  } else fail(`unsupported .npy version ${major}.${buf[7]}`);
  if (hstart + hlen > buf.length) fail('truncated header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) fail(`malformed header ${JSON.stringify(header)}`);
  if (fortran[1] !== 'False') fail('fortran_order arrays are not supported');
  const dtype = DESCR_TO_DTYPE[descr[1]];
  if (!dtype) fail(`unsupported dtype ${descr[1]}`);
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    if (!/^\d+$/.test(s)) fail(`bad shape ${shapeM[1]}`);
    return Number(s);
  });
  const n = shape.reduce((a, b) => a * b, 1);
  const nbytes = n * DTYPES[dtype][1];
  const data = buf.subarray(hstart + hlen);
  if (data.length !== nbytes) fail(`data is ${data.length} bytes, shape ${JSON.stringify(shape)} × ${dtype} needs ${nbytes}`);
  return {dtype, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength)};
}

function writeNpy(file, dtype, shape, bytes) {
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${DTYPES[dtype][0]}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre[0] = 0x93; pre.write('NUMPY', 1, 'latin1'); pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
  fs.renameSync(tmp, file);
}

function writeJson(file, obj) {
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(obj));
  fs.renameSync(tmp, file);
}

// ---- LiteRT.js under Node ---------------------------------------------------

// LiteRT.js's loader is written for browsers and web workers: it calls
// importScripts(<wasm dir>/<variant>.js) and expects that script to leave
// ModuleFactory on self, with the wasm bytes supplied through self.Module.
function installShim() {
  globalThis.self = globalThis;
  globalThis.require = createRequire(path.join(wasmDir, 'loader.js'));
  globalThis.__dirname = wasmDir;
  globalThis.importScripts = (url) => {
    const jsPath = url.startsWith('file:') ? fileURLToPath(url) : url;
    const code = fs.readFileSync(jsPath, 'utf8');
    vm.runInThisContext(code + ';globalThis.ModuleFactory = ModuleFactory;', {filename: jsPath});
    loaded.variant = path.basename(jsPath, '.js');
    globalThis.Module = {
      wasmBinary: fs.readFileSync(jsPath.replace(/\.js$/, '.wasm')),
      printErr: (line) => {
        if (verbose || !quiet.test(line)) process.stderr.write(line + '\n');
      },
    };
  };
}

// Log lines LiteRT prints on every start under Node; LITERT_VERBOSE=1 shows them.
const quiet = /^INFO: |^WARNING: \[npu_registry\.cc:\d+\] NPU accelerator could not be loaded/;

const loaded = {variant: '', threads: 0};
let lrt; // the @litertjs/core module

async function loadRuntime() {
  installShim();
  lrt = await import('@litertjs/core');
  // Environment.create() probes WebGPU and warns when there is none (Node).
  const warn = console.warn;
  console.warn = (...a) => {
    if (typeof a[0] === 'string' && a[0].startsWith('Failed to create default WebGPU device')) return;
    warn(...a);
  };
  try {
    await lrt.loadLiteRt(pathToFileURL(wasmDir).href + '/');
  } finally {
    console.warn = warn;
  }
  loaded.threads = lrt.getGlobalLiteRt().liteRtWasm.getThreadCount();
}

function vecToArray(v) {
  const out = [];
  for (let i = 0; i < v.size(); i++) out.push(v.get(i));
  v.delete();
  return out;
}

function elementName(w, el) {
  for (const [k, v] of Object.entries(w.ElementType)) {
    if (v && typeof v === 'object' && v.value === el.value) return k;
  }
  return String(el.value);
}

function describeType(w, tt) {
  const el = tt.elementType();
  const layout = tt.layout();
  const shape = vecToArray(layout.dimensions());
  layout.delete();
  const elName = elementName(w, el);
  return {dtype: ELEMENT_TO_DTYPE[elName] ?? elName.toLowerCase(), shape};
}

// Signature 0's names and tensor types, read from the model flatbuffer with
// LiteRT's own parser (no compilation).
function inspect(w, model) {
  const sig = model.getSignature(0);
  const key = sig.key();
  const inNames = vecToArray(sig.inputNames());
  const outNames = vecToArray(sig.outputNames());
  sig.delete();
  const ins = inNames.map((name, i) => {
    const tt = model.getInputTensorType(0, i);
    const d = describeType(w, tt);
    tt.delete();
    return {name, ...d};
  });
  const outs = outNames.map((name, i) => {
    const tt = model.getOutputTensorType(0, i);
    const d = describeType(w, tt);
    tt.delete();
    return {name, ...d};
  });
  return {key, ins, outs};
}

function checkInputs(details, inputs) {
  if (inputs.length !== details.length) {
    throw new Error(`model has ${details.length} inputs, case gives ${inputs.length}`);
  }
  details.forEach((d, i) => {
    if (inputs[i].dtype !== d.dtype) {
      throw new Error(`input ${i} (${d.name}): model wants ${d.dtype}, .npy is ${inputs[i].dtype}`);
    }
  });
}

async function runPublic(modelBytes, inputs, outdir, info, timing) {
  const t0 = performance.now();
  const model = await lrt.loadAndCompile(modelBytes, {accelerator: 'wasm'});
  info.compileMs = performance.now() - t0;
  const tensors = [];
  let outs = [];
  try {
    const t1 = performance.now();
    for (const x of inputs) {
      const T = TYPED[x.dtype];
      const copy = new Uint8Array(x.bytes); // aligned copy
      tensors.push(new lrt.Tensor(new T(copy.buffer, 0, copy.byteLength / T.BYTES_PER_ELEMENT), x.shape));
    }
    info.ms.inputs = performance.now() - t1;
    outs = await timeRuns(timing, info, () => model.run(tensors), (o) => { for (const t of o) t.delete(); });
    const od = model.getOutputDetails();
    if (outs.length !== od.length) throw new Error(`run returned ${outs.length} outputs, signature has ${od.length}`);
    const results = [];
    outs.forEach((o, i) => {
      const arr = o.toTypedArray();
      const shape = Array.from(o.type.layout.dimensions);
      const dtype = o.type.dtype;
      writeNpy(path.join(outdir, `${i}.npy`), dtype, shape, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
      results.push({name: od[i].name, dtype, shape});
    });
    return results;
  } finally {
    for (const t of tensors) t.delete();
    for (const o of outs) o.delete();
    model.delete();
  }
}

// The same steps LiteRt.loadAndCompile and CompiledModelSignatureRunner take,
// minus the JS dtype whitelist.
async function runLowLevel(w, env, model, inputs, outdir, info, details, timing) {
  const opts = {
    environment: env,
    accelerator: 'wasm',
    cpuOptions: {numThreads: w.getThreadCount()},
    gpuOptions: {},
    webNNOptions: {},
  };
  const t0 = performance.now();
  const compiled = await w.compileModel(env.liteRtEnvironment, model, opts);
  info.ms.compile = performance.now() - t0;
  info.compileMs = info.ms.load + info.ms.compile;
  const buffers = [];
  let outBuffers = [];
  try {
    inputs.forEach((x, i) => {
      const dims = new w.VectorInt32();
      for (const d of x.shape) dims.push_back(d);
      const layout = w.LiteRtLayout.create(dims);
      dims.delete();
      const rtt = w.LiteRtRankedTensorType.create({value: w.ElementType[DTYPES[x.dtype][2]].value}, layout);
      layout.delete();
      const size = rtt.bytes();
      if (size !== x.bytes.byteLength) {
        rtt.delete();
        throw new Error(`input ${i}: ${x.bytes.byteLength} bytes, tensor type needs ${size}`);
      }
      const tb = w.LiteRtTensorBuffer.createManaged(env.liteRtEnvironment, w.LiteRtTensorBufferType.HOST_MEMORY, rtt, size);
      rtt.delete();
      buffers.push(tb);
      const p = tb.lock(w.LiteRtTensorBufferLockMode.WRITE);
      try { w.HEAPU8.set(x.bytes, p); } finally { tb.unlock(); }
      const want = model.getInputTensorType(0, i);
      const req = compiled.getInputBufferRequirements(0, i);
      try { w.checkTensorBufferCompatible(tb, want, req); } finally { want.delete(); req.delete(); }
    });
    outBuffers = await timeRuns(timing, info, () => compiled.run(0, buffers), (o) => { for (const b of o) b.delete(); });
    if (outBuffers.length !== details.outs.length) {
      throw new Error(`run returned ${outBuffers.length} outputs, signature has ${details.outs.length}`);
    }
    const results = [];
    outBuffers.forEach((ob, i) => {
      const tt = ob.tensorType();
      const {dtype, shape} = describeType(w, tt);
      tt.delete();
      if (!DTYPES[dtype]) throw new Error(`output ${i} (${details.outs[i].name}) has unsupported dtype ${dtype}`);
      if (ob.size() !== ob.packedSize() || ob.offset() !== 0) throw new Error(`output ${i}: strided/padded buffers are not supported`);
      const p = ob.lock(w.LiteRtTensorBufferLockMode.READ);
      let bytes;
      try { bytes = w.HEAPU8.slice(p, p + ob.packedSize()); } finally { ob.unlock(); }
      writeNpy(path.join(outdir, `${i}.npy`), dtype, shape, bytes);
      results.push({name: details.outs[i].name, dtype, shape});
    });
    return results;
  } finally {
    for (const b of buffers) b.delete();
    for (const b of outBuffers) b.delete();
    compiled.delete();
  }
}

// timeRuns calls run() timing.warmup times untimed, then timing.repeat
// times timed one by one into info.runMs; dispose frees the outputs of all
// but the last call, which it returns.
async function timeRuns(timing, info, run, dispose) {
  for (let i = 0; i < timing.warmup; i++) dispose(await run());
  info.runMs = [];
  let last;
  for (let i = 0; i < timing.repeat; i++) {
    if (last) { dispose(last); last = undefined; }
    const t = performance.now();
    last = await run();
    info.runMs.push(performance.now() - t);
  }
  info.ms.run = info.runMs[0];
  return last;
}

function count(c, key, dflt, min) {
  const v = c[key] ?? dflt;
  if (!Number.isInteger(v) || v < min) throw new Error(`"${key}" must be an integer >= ${min}, got ${JSON.stringify(c[key])}`);
  return v;
}

async function runCase(c) {
  if (!c || typeof c.outdir !== 'string') throw new Error('case has no outdir');
  if (typeof c.model !== 'string') throw new Error('case has no model path');
  const timing = {warmup: count(c, 'warmup', 0, 0), repeat: count(c, 'repeat', 1, 1)};
  const info = {ms: {}, compileMs: 0, runMs: []};
  const modelBytes = new Uint8Array(fs.readFileSync(c.model));
  const inputs = (c.inputs ?? []).map(readNpy);
  const lr = lrt.getGlobalLiteRt();
  const w = lr.liteRtWasm;
  const env = lr.getDefaultEnvironment();

  // Parse once with LiteRT to learn the signature's names and dtypes.
  const t0 = performance.now();
  const ptr = w._malloc(modelBytes.byteLength);
  let model;
  let details;
  let outputs;
  let api = c.api ?? 'auto';
  try {
    w.HEAPU8.set(modelBytes, ptr);
    model = w.loadModel(env.liteRtEnvironment, ptr, modelBytes.byteLength);
    info.ms.load = performance.now() - t0;
    details = inspect(w, model);
    checkInputs(details.ins, inputs);
    const allPublic = [...details.ins, ...details.outs].every((d) => PUBLIC_DTYPES.has(d.dtype));
    if (api === 'auto') api = allPublic ? 'public' : 'lowlevel';
    if (api === 'lowlevel') {
      outputs = await runLowLevel(w, env, model, inputs, c.outdir, info, details, timing);
    } else if (api !== 'public') {
      throw new Error(`unknown api ${JSON.stringify(api)} (want auto, public or lowlevel)`);
    }
  } finally {
    model?.delete();
    w._free(ptr);
  }
  if (api === 'public') {
    const t1 = performance.now();
    outputs = await runPublic(modelBytes, inputs, c.outdir, info, timing);
    info.ms.compile_and_run = performance.now() - t1;
  }
  return {
    ok: true,
    api,
    signature: details.key,
    variant: loaded.variant,
    threads: loaded.threads,
    outputs,
    input_details: details.ins,
    compile_ms: info.compileMs,
    run_ms: info.runMs,
    ms: info.ms,
  };
}

async function main() {
  const jobFile = process.argv[2];
  if (!jobFile) {
    process.stderr.write('usage: node run.mjs job.json\n');
    process.exit(2);
  }
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
  if (!Array.isArray(job.cases)) throw new Error(`${jobFile}: no "cases" array`);
  const tLoad = performance.now();
  await loadRuntime();
  const loadMs = performance.now() - tLoad;
  // Tells the caller the runtime loaded: a later crash is a case's fault.
  process.stdout.write(JSON.stringify({ready: true, variant: loaded.variant, threads: loaded.threads}) + '\n');
  let ok = 0;
  let failed = 0;
  for (const c of job.cases) {
    let res;
    let fatal = false;
    try {
      fs.mkdirSync(c.outdir, {recursive: true});
      res = await runCase(c);
      ok++;
    } catch (e) {
      failed++;
      fatal = e instanceof WebAssembly.RuntimeError;
      res = {ok: false, error: (fatal ? 'wasm trap: ' : '') + String(e?.message ?? e)};
    }
    try {
      writeJson(path.join(c.outdir, 'result.json'), res);
    } catch (e) {
      process.stderr.write(`run.mjs: cannot write result for ${c?.model}: ${e.message}\n`);
    }
    if (fatal) {
      process.stderr.write(`run.mjs: wasm instance trapped on ${c.model}; exiting so the caller can restart\n`);
      process.exit(3);
    }
  }
  process.stdout.write(JSON.stringify({
    ok, failed, variant: loaded.variant, threads: loaded.threads, runtime_load_ms: Math.round(loadMs),
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`run.mjs: ${e?.stack ?? e}\n`);
  process.exit(1);
});
