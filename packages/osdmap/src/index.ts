/** @nacre/osdmap */
export {};
