/**
 * Sizes and named maximums shared by every store implementation. Each bound has a reason.
 */

/** Allocation and checksum unit: 32 KiB (DESIGN §6). A 4 MiB object is at most 128 units. */
export const unitSizeBytes = 32 * 1024;
/**
 * Largest object. RBD and RADOS objects are 4 MiB by default; Ceph's osd_max_object_size is
 * 128 MiB. Bounds the extent map (≤ 4096 units) and the cost of one clone or remove.
 */
export const objectSizeBytesMax = 128 * 1024 * 1024;
/** Ops in one transaction (bounds the work one commit does before its fdatasync). */
export const txnOpsMax = 4096;
/** Data carried by one transaction. */
export const txnDataBytesMax = 256 * 1024 * 1024;
/** xattr names and values (they live inside the onode, so keep them small). */
export const attrNameBytesMax = 256;
export const attrValueBytesMax = 64 * 1024;
export const attrsPerObjectMax = 256;
/** omap keys and values (each entry is its own metadata key). */
export const omapKeyBytesMax = 4096;
export const omapValueBytesMax = 1024 * 1024;
/** Entries copied by one clone of an object's omap; larger omaps must not be cloned. */
export const omapCloneEntriesMax = 1_000_000;
/** Page sizes for listings and omap range reads. */
export const listObjectsMax = 100_000;
export const omapRangeEntriesMax = 100_000;
