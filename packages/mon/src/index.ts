/** @nacre/mon */
export {};
