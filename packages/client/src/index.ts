/** @nacre/client — the librados-like client library. */
export {};
