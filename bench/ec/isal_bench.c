/*
 * Nacre EC baseline: ISA-L's ec_encode_data on the same code and sizes as bench/ec/run.ts, so the
 * WebAssembly kernel can be compared with native hand-written SIMD in the same run.
 *
 *   isal_bench K M CHUNK_BYTES ROUNDS ITERATIONS GENERATOR_HEX LOST_A LOST_B
 *
 * GENERATOR_HEX is our (K+M)×K generator matrix, row-major, as hex (run.ts passes it), so ISA-L
 * computes exactly our code: the FNV-1a hash of its parity must equal ours (an independent
 * known-answer check). Data bytes come from the same LCG as run.ts. Decoding rebuilds the two lost
 * data chunks LOST_A < LOST_B from the first K surviving chunks, inverting with ISA-L's
 * gf_invert_matrix as an ISA-L user would. Tables are built once, outside the timed loops (our
 * codec caches its tables too). Prints one JSON line: median and best GB/s of input data
 * (K × CHUNK_BYTES per operation) over ROUNDS rounds of ITERATIONS operations.
 *
 * Build: gcc -O2 -o isal_bench bench/ec/isal_bench.c -lisal   (run.ts does this when
 * /usr/include/isa-l/erasure_code.h exists; Debian: apt-get install libisal-dev)
 */
#include <isa-l/erasure_code.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNKS_MAX 40

static double now_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The byte stream run.ts uses: x ← x·1103515245 + 12345 (mod 2^32), byte = x >> 24. */
static void fill_lcg(unsigned char **chunks, int count, int chunk_bytes) {
	uint32_t x = 12345u;
	for (int i = 0; i < count; i++)
		for (int p = 0; p < chunk_bytes; p++) {
			x = x * 1103515245u + 12345u;
			chunks[i][p] = (unsigned char)(x >> 24);
		}
}

static uint64_t fnv1a64(unsigned char **chunks, int count, int chunk_bytes) {
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < count; i++)
		for (int p = 0; p < chunk_bytes; p++) {
			h ^= chunks[i][p];
			h *= 0x100000001b3ull;
		}
	return h;
}

static unsigned char *alloc_chunk(int bytes) {
	void *p = NULL;
	if (posix_memalign(&p, 64, bytes > 0 ? (size_t)bytes : 64) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

/* Median (and, in *best, the fastest round's) GB/s of `iterations` calls of ec_encode_data per round. */
static double time_rounds(int rounds, int iterations, int len, int k, int rows, unsigned char *tables,
			  unsigned char **in, unsigned char **out, double *best) {
	double rates[64];
	if (rounds > 64) rounds = 64;
	for (int r = 0; r < rounds; r++) {
		double t0 = now_seconds();
		for (int i = 0; i < iterations; i++) ec_encode_data(len, k, rows, tables, in, out);
		double seconds = now_seconds() - t0;
		rates[r] = (double)k * len * iterations / seconds / 1e9;
	}
	qsort(rates, rounds, sizeof rates[0], compare_doubles);
	*best = rates[rounds - 1];
	return rates[rounds / 2];
}

int main(int argc, char **argv) {
	if (argc != 9) {
		fprintf(stderr, "usage: %s K M CHUNK_BYTES ROUNDS ITERATIONS GENERATOR_HEX LOST_A LOST_B\n", argv[0]);
		return 2;
	}
	int k = atoi(argv[1]), m = atoi(argv[2]), len = atoi(argv[3]);
	int rounds = atoi(argv[4]), iterations = atoi(argv[5]);
	const char *hex = argv[6];
	int lost_a = atoi(argv[7]), lost_b = atoi(argv[8]);
	if (k < 2 || m < 2 || k + m > CHUNKS_MAX || (int)strlen(hex) != 2 * (k + m) * k || lost_a >= lost_b ||
	    lost_b >= k) {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	unsigned char generator[CHUNKS_MAX * CHUNKS_MAX];
	for (int i = 0; i < (k + m) * k; i++) {
		unsigned int byte;
		sscanf(hex + 2 * i, "%2x", &byte);
		generator[i] = (unsigned char)byte;
	}

	unsigned char *chunks[CHUNKS_MAX], *rebuilt[2];
	for (int i = 0; i < k + m; i++) chunks[i] = alloc_chunk(len);
	rebuilt[0] = alloc_chunk(len);
	rebuilt[1] = alloc_chunk(len);
	fill_lcg(chunks, k, len);

	/* Encode: the parity rows of the generator. */
	unsigned char *encode_tables = alloc_chunk(32 * k * m);
	ec_init_tables(k, m, &generator[k * k], encode_tables);
	ec_encode_data(len, k, m, encode_tables, chunks, &chunks[k]);
	uint64_t parity_hash = fnv1a64(&chunks[k], m, len);
	/* Warm-up, one round's worth: page faults, caches, clock ramp-up (ours warms up too). */
	for (int i = 0; i < iterations; i++) ec_encode_data(len, k, m, encode_tables, chunks, &chunks[k]);
	double encode_best, decode_best;
	double encode_gbps = time_rounds(rounds, iterations, len, k, m, encode_tables, chunks, &chunks[k], &encode_best);

	/* Decode: invert the rows of the first k survivors, keep the rows of the two lost chunks. */
	unsigned char survivors_matrix[CHUNKS_MAX * CHUNKS_MAX], inverse[CHUNKS_MAX * CHUNKS_MAX];
	unsigned char decode_matrix[2 * CHUNKS_MAX];
	unsigned char *survivors[CHUNKS_MAX];
	int n = 0;
	for (int i = 0; i < k + m && n < k; i++) {
		if (i == lost_a || i == lost_b) continue;
		memcpy(&survivors_matrix[n * k], &generator[i * k], k);
		survivors[n++] = chunks[i];
	}
	if (gf_invert_matrix(survivors_matrix, inverse, k) != 0) {
		fprintf(stderr, "singular decode matrix\n");
		return 1;
	}
	memcpy(&decode_matrix[0], &inverse[lost_a * k], k);
	memcpy(&decode_matrix[k], &inverse[lost_b * k], k);
	unsigned char *decode_tables = alloc_chunk(32 * k * 2);
	ec_init_tables(k, 2, decode_matrix, decode_tables);
	ec_encode_data(len, k, 2, decode_tables, survivors, rebuilt);
	int decode_ok = memcmp(rebuilt[0], chunks[lost_a], len) == 0 && memcmp(rebuilt[1], chunks[lost_b], len) == 0;
	double decode_gbps = time_rounds(rounds, iterations, len, k, 2, decode_tables, survivors, rebuilt, &decode_best);

	printf("{\"encodeGBps\":%.3f,\"decodeGBps\":%.3f,\"encodeGBpsBest\":%.3f,\"decodeGBpsBest\":%.3f,"
	       "\"parityFnv1a64\":\"%016llx\",\"decodeOk\":%s}\n",
	       encode_gbps, decode_gbps, encode_best, decode_best, (unsigned long long)parity_hash, decode_ok ? "true" : "false");
	return decode_ok ? 0 : 1;
}
