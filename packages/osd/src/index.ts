/** @nacre/osd — the OSD daemon. */
export {};
