/** @nacre/ec */
export {};
