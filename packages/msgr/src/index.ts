/** @nacre/msgr */
export {};
