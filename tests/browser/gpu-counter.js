// Counts what a program asks of WebGPU (the browser benchmark only, never the app): compute
// dispatches, queue submits, read-backs (buffers mapped for reading), compute pipelines created
// (each one a shader compilation unless the browser caches it) and bytes written to GPU buffers.
// It wraps the API's prototypes, so it must run before the engine starts: in a page by
// Playwright's addInitScript, in the worker by being prepended to the worker's loader script.
//
// `self.__gpuCounts.snapshot()` gives the running totals. In the worker every message posted
// or received and every read-back is also broadcast with the totals at that moment on the
// BroadcastChannel 'der-gpu-counts', so the page can cut the worker's counts into cases and
// iterations without touching the app's own messages.
(() => {
  if (typeof GPUDevice === 'undefined' || self.__gpuCounts) return;
  const totals = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0, bytesWritten: 0, buffersCreated: 0 };
  const snapshot = () => ({ ...totals });
  const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
  const channel = inWorker ? new BroadcastChannel('der-gpu-counts') : null;
  const mark = (kind) => channel?.postMessage({ kind, at: performance.now(), counts: snapshot() });
  self.__gpuCounts = { snapshot };

  const wrap = (proto, name, count) => {
    const original = proto[name];
    if (typeof original !== 'function') return;
    proto[name] = function (...args) {
      count(...args);
      return original.apply(this, args);
    };
  };
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => { totals.dispatches += 1; });
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', () => { totals.dispatches += 1; });
  wrap(GPUQueue.prototype, 'submit', () => { totals.submits += 1; });
  wrap(GPUBuffer.prototype, 'mapAsync', (mode) => {
    if (mode & GPUMapMode.READ) {
      totals.readbacks += 1;
      mark('readback');
    }
  });
  wrap(GPUDevice.prototype, 'createComputePipeline', () => { totals.pipelines += 1; });
  wrap(GPUDevice.prototype, 'createComputePipelineAsync', () => { totals.pipelines += 1; });
  // writeBuffer(buffer, offset, data, dataOffset?, size?): offset and size count elements of a
  // typed array, bytes of an ArrayBuffer.
  wrap(GPUQueue.prototype, 'writeBuffer', (buffer, offset, data, dataOffset = 0, size) => {
    const unit = data.BYTES_PER_ELEMENT ?? 1;
    totals.bytesWritten += size !== undefined ? size * unit : data.byteLength - dataOffset * unit;
  });
  // A buffer created mapped is filled by the program before the GPU sees it (an upload).
  wrap(GPUDevice.prototype, 'createBuffer', (descriptor) => {
    totals.buffersCreated += 1;
    if (descriptor.mappedAtCreation && !(descriptor.usage & GPUBufferUsage.MAP_READ)) totals.bytesWritten += descriptor.size;
  });

  if (inWorker) {
    // The app logs every message it posts on the debug level ("message from worker
    // speed-measured: …"), right after posting it: the counts at that moment end a case.
    const debug = console.debug;
    console.debug = function (...args) {
      const text = String(args[0] ?? '');
      const m = /^message from worker ([\w-]+):/.exec(text);
      if (m) mark(`posted ${m[1]}`);
      return debug.apply(this, args);
    };
    self.addEventListener('message', () => mark('received'));
  }
})();
