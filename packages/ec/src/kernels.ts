/**
 * Kernel selection at run time. Kernels are process-wide singletons per name: the WebAssembly one
 * owns a 64 MiB memory, and every codec sharing it means buffers from any codec's allocStripe are
 * zero-copy for all of them.
 *
 * 'auto' picks the fastest kernel this runtime validates: relaxed SIMD (Node 22+, or Node 20 with
 * --experimental-wasm-relaxed-simd), then SIMD (Node 20 default), then JavaScript.
 */
import { NacreError } from '@nacre/util';
import type { Kernel, KernelName } from './kernel.js';
import { createJsKernel } from './kernel-js.js';
import { createWasmKernel, wasmKernelSupported } from './kernel-wasm.js';

export type KernelChoice = 'auto' | KernelName | Kernel;

const shared = new Map<KernelName, Kernel>();

export function kernelAvailable(name: KernelName): boolean {
  if (name === 'js') return true;
  return wasmKernelSupported(name === 'wasm-relaxed-simd');
}

/** The shared kernel of that name; ENOTSUP if this runtime cannot run it. */
export function sharedKernel(name: KernelName): Kernel {
  let kernel = shared.get(name);
  if (kernel !== undefined) return kernel;
  if (!kernelAvailable(name)) throw new NacreError(`EC kernel ${name} is not available in this runtime`, { code: 'ENOTSUP' });
  kernel = name === 'js' ? createJsKernel() : createWasmKernel({ relaxed: name === 'wasm-relaxed-simd' });
  shared.set(name, kernel);
  return kernel;
}

/** The name 'auto' resolves to here. */
export function bestKernelName(): KernelName {
  if (kernelAvailable('wasm-relaxed-simd')) return 'wasm-relaxed-simd';
  if (kernelAvailable('wasm-simd')) return 'wasm-simd';
  return 'js';
}

export function resolveKernel(choice: KernelChoice = 'auto'): Kernel {
  if (typeof choice !== 'string') return choice;
  if (choice === 'auto') return sharedKernel(bestKernelName());
  if (choice !== 'js' && choice !== 'wasm-simd' && choice !== 'wasm-relaxed-simd') {
    throw new NacreError(`unknown EC kernel ${String(choice)}`, { code: 'EINVAL' });
  }
  return sharedKernel(choice);
}
