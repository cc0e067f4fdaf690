/**
 * One canonical order for the collections of a CrushMap, so equal maps compare equal however they
 * were built: devices, types and rules by ascending id; buckets by descending id (-1 first, Ceph's
 * array order); choose_args sets by signed index, their entries by descending bucket id.
 */
import type { CrushMap } from '../model.js';

export function sortMapInPlace(map: CrushMap): void {
  map.devices = new Map([...map.devices].sort((a, b) => a[0] - b[0]));
  map.types = new Map([...map.types].sort((a, b) => a[0] - b[0]));
  map.buckets = new Map([...map.buckets].sort((a, b) => b[0] - a[0]));
  map.rules = new Map([...map.rules].sort((a, b) => a[0] - b[0]));
  map.chooseArgs = new Map([...map.chooseArgs]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, args]) => [k, [...args].sort((x, y) => y.bucketId - x.bucketId)]));
}
