/** @nacre/proto */
export {};
