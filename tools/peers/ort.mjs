// ONNX Runtime timing harness for internal/peerbench:
//
//   node tools/peers/ort.mjs JOB.json
//
// JOB.json: {"threads": 2, "warmup": 2, "runs": 10, "cases": [{"name": "...",
// "model": "m.onnx", "inputs": {"image": "x.npy", ...}, "output": "y.npy"}]}
// (paths absolute or relative to the job file). For each case it creates an
// InferenceSession on the CPU execution provider (graph optimisation "all",
// intraOpNumThreads = threads, one inter-op thread, sequential execution),
// reads the float32 .npy inputs, runs warmup untimed and runs timed
// inferences (performance.now() around session.run, inputs built
// beforehand), writes the first output of the last run as a float32 .npy
// and prints one JSON line:
//   {"name", "times_ms": [...], "load_ms", "version", "output_shape"}
// or {"name", "error"} when the case fails.

import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";

function readNpy(path) {
  const b = readFileSync(path);
  if (b.length < 10 || b.toString("latin1", 0, 6) !== "\x93NUMPY") {
    throw new Error(`${path}: not a .npy file`);
  }
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = b.toString("latin1", hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${path}: bad .npy header ${header}`);
  if (descr[1] !== "<f4") throw new Error(`${path}: dtype ${descr[1]}, want <f4`);
  if (fortran[1] !== "False") throw new Error(`${path}: Fortran order`);
  const dims = shape[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const n = dims.reduce((a, d) => a * d, 1);
  const off = hstart + hlen;
  if (b.length - off !== 4 * n) throw new Error(`${path}: ${b.length - off} data bytes for shape [${dims}]`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = b.readFloatLE(off + 4 * i);
  return { dims, data };
}

function writeNpy(path, dims, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims.join(", ")}${dims.length === 1 ? "," : ""}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = Buffer.alloc(10 + header.length + 4 * data.length);
  out.write("\x93NUMPY", 0, "latin1");
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, "latin1");
  const off = 10 + header.length;
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], off + 4 * i);
  const tmp = path + ".tmp";
  writeFileSync(tmp, out);
  renameSync(tmp, path);
}

async function runCase(job, base, c) {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(resolve(base, c.model), {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const loadMs = performance.now() - t0;
  const feeds = {};
  for (const name of session.inputNames) {
    if (!(name in c.inputs)) throw new Error(`no input file for model input ${name}`);
    const a = readNpy(resolve(base, c.inputs[name]));
    feeds[name] = new ort.Tensor("float32", a.data, a.dims);
  }
  const times = [];
  let out;
  for (let i = 0; i < job.warmup + job.runs; i++) {
    const s = performance.now();
    out = await session.run(feeds);
    const dt = performance.now() - s;
    if (i >= job.warmup) times.push(dt);
  }
  const y = out[session.outputNames[0]];
  if (c.output) writeNpy(resolve(base, c.output), y.dims, y.data);
  await session.release();
  return { name: c.name, times_ms: times, load_ms: loadMs, version: ort.env.versions?.node ?? "", output_shape: y.dims };
}

async function main() {
  const jobPath = process.argv[2];
  if (!jobPath) {
    console.error("usage: node ort.mjs JOB.json");
    process.exit(2);
  }
  const job = JSON.parse(readFileSync(jobPath, "utf8"));
  job.threads = job.threads ?? 1;
  job.warmup = job.warmup ?? 1;
  job.runs = job.runs ?? 1;
  if (!(job.threads >= 1 && job.warmup >= 0 && job.runs >= 1)) {
    console.error("ort.mjs: threads and runs must be >= 1, warmup >= 0");
    process.exit(2);
  }
  const base = dirname(resolve(jobPath));
  for (const c of job.cases ?? []) {
    let line;
    try {
      line = await runCase(job, base, c);
    } catch (e) {
      line = { name: c.name, error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

main().catch((e) => {
  console.error("ort.mjs:", e);
  process.exit(1);
});
