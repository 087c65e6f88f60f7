// A small fixed set of worker threads for bundle inspection (bundle-worker.ts). A job waits for a
// free worker; a worker that runs past its deadline or dies is replaced, and its job fails alone.
import { Worker, type WorkerOptions } from "node:worker_threads";
import { AppError } from "../errors.js";
import type { BundleJob, BundleJobResult } from "./bundle-worker.js";

// Compiled (`npm start`) the worker's entry is a .js file beside this one. Under the TypeScript
// loader (tests, `npm run dev`) it is a .ts file, and Node 20 does not carry the loader that
// `--import tsx` registered into worker threads: a small script registers it there first.
const RUNNING_TYPESCRIPT = import.meta.url.endsWith(".ts");
const WORKER_ENTRY = new URL(
  RUNNING_TYPESCRIPT ? "./bundle-worker.ts" : "./bundle-worker.js",
  import.meta.url,
);

function startWorker(options: WorkerOptions): Worker {
  if (!RUNNING_TYPESCRIPT) return new Worker(WORKER_ENTRY, options);
  const loader = import.meta.resolve("tsx/esm/api");
  const script = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}); });`;
  return new Worker(script, { ...options, eval: true });
}

/**
 * The JavaScript heap a worker may use. File contents are Buffers outside this heap; what grows
 * in it is the parsed YAML and JSON, each capped far below this, so only a parser defect reaches it.
 */
const WORKER_HEAP_MB = 512;
/**
 * The young generation, set rather than derived: V8 sizes it from the old generation's limit, and
 * for 512 MB Node 20 chose 48 MB where Node 24 chooses 192 MB, so each worker held ~150 MB more
 * memory on 24 between collections. 48 MB keeps both Nodes where 20 always was.
 */
const WORKER_YOUNG_GENERATION_MB = 48;

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Waiting {
  job: BundleJob;
  resolve: (result: BundleJobResult) => void;
  reject: (error: unknown) => void;
}

export class BundleWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Waiting[] = [];
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly jobTimeoutMs: number,
  ) {}

  run(job: BundleJob): Promise<BundleJobResult> {
    if (this.closed) return Promise.reject(new AppError("server_error", "The server is shutting down"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiting of this.waiting.splice(0)) {
      waiting.reject(new AppError("server_error", "The server is shutting down"));
    }
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const slot = this.slots.find((candidate) => !candidate.busy) ?? this.spawn();
      if (slot === null) return;
      const next = this.waiting.shift()!;
      this.execute(slot, next);
    }
  }

  private spawn(): Slot | null {
    if (this.slots.length >= this.size) return null;
    const worker = startWorker({
      resourceLimits: {
        maxOldGenerationSizeMb: WORKER_HEAP_MB,
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
      },
    });
    // An idle worker must not keep the process alive; a busy one is referenced while it works.
    worker.unref();
    const slot: Slot = { worker, busy: false };
    this.slots.push(slot);
    return slot;
  }

  private execute(slot: Slot, { job, resolve, reject }: Waiting): void {
    slot.busy = true;
    const { worker } = slot;
    worker.ref();
    let settled = false;
    const finish = (outcome: () => void, retire: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      if (retire) {
        this.retire(slot);
      } else {
        slot.busy = false;
        worker.unref();
      }
      outcome();
      this.dispatch();
    };
    const onMessage = (message: BundleJobResult | { crashed: string }) => {
      if ("crashed" in message) {
        finish(
          () =>
            reject(
              new AppError("server_error", "The bundle could not be processed", undefined, {
                cause: new Error(message.crashed),
              }),
            ),
          false,
        );
      } else {
        finish(() => resolve(message), false);
      }
    };
    const onError = (error: Error) => finish(() => reject(workerFailure(error)), true);
    const onExit = (code: number) =>
      finish(() => reject(workerFailure(new Error(`bundle worker exited with ${code}`))), true);
    const timer = setTimeout(
      () =>
        finish(
          () =>
            resolve({
              ok: false,
              type: "invalid_error",
              detail: "The bundle was rejected",
              issues: [
                {
                  loc: ["bundle", "archive"],
                  msg: `the bundle could not be analysed within ${Math.round(this.jobTimeoutMs / 1000)} s`,
                  type: "bundle.limits",
                },
              ],
            }),
          true,
        ),
      this.jobTimeoutMs,
    );
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage(job);
  }

  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    slot.worker.removeAllListeners();
    // An 'error' with no listener would be thrown in the main thread.
    slot.worker.on("error", () => {});
    // A worker that hit its deadline may be stuck in a loop: terminate() stops it wherever it is.
    void slot.worker.terminate().catch(() => {});
  }
}

function workerFailure(error: Error): AppError {
  // Running out of its heap is the one way a bundle can kill a worker: the archive's fault.
  if ((error as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY") {
    return new AppError("invalid_error", "The bundle was rejected", [
      {
        loc: ["bundle", "archive"],
        msg: "the bundle needs more memory to analyse than a publish may use",
        type: "bundle.limits",
      },
    ]);
  }
  return new AppError("server_error", "The bundle could not be processed", undefined, { cause: error });
}
