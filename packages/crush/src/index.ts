/** @nacre/crush */
export {};
