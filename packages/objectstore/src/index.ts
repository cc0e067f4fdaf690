/** @nacre/objectstore */
export {};
