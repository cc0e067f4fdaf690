import { ReedSolomon } from '@nacre/ec';

const rs = new ReedSolomon({ k: 4, m: 2 });
const data = [0, 1, 2, 3].map((i) => new Uint8Array(4096).fill(i + 1));
const parity = rs.encode(data);                                   // 2 chunks of 4096 bytes
const restored = rs.decode([null, data[1]!, null, data[3]!, ...parity]);
console.log(restored[0]!.every((b) => b === 1), restored[2]!.every((b) => b === 3)); // true true

// The zero-copy hot path: chunks live in the kernel's WebAssembly memory.
const stripe = rs.allocStripe(1 << 20);                           // 4+2 chunks of 1 MiB
stripe.data.forEach((chunk, i) => chunk.fill(i));                 // read from disk/socket into them
rs.encodeStripe(stripe);                                          // parity computed in place
rs.reconstructInPlace(stripe.chunks, [1, 2]);                     // rebuild chunks 1 and 2 in place
stripe.release();
