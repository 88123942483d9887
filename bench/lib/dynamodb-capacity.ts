/**
 * DynamoDB request units as AWS bills them on demand, computed from the requests themselves (dynalite
 * reports table units only and ignores the indexes). Rules from the DynamoDB developer guide:
 * - item size: the UTF-8 length of every attribute name plus its value (strings: UTF-8 bytes, binary:
 *   bytes, numbers: about 1 byte per 2 significant digits + 1, booleans and null: 1 byte);
 * - a write costs 1 WRU per started KB of the item (UpdateItem: the larger of before and after); a
 *   conditional write whose condition fails still costs the existing item's size (at least 1 WRU);
 * - each global secondary index the write touches costs 1 WRU per started KB of its index entry (index
 *   keys + table keys + projected attributes + 100 bytes of overhead): a new item writes the entry, and
 *   an update of a projected attribute rewrites it;
 * - a strongly consistent read costs 1 RRU per started 4 KB of each item read.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export interface IndexDesign {
  keys: readonly string[];
  projected: readonly string[];
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.N !== undefined)
    return Math.ceil(value.N.replace(/[^0-9]/g, '').replace(/^0+/, '').length / 2) + 1;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, entry) => sum + utf8(entry), 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueSize(entry), 0);
  if (value.M !== undefined) return 3 + itemSize(value.M);
  return 0;
}

export function itemSize(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
export const strongReadUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

/** WRUs of the index entries a new item creates. */
export function indexWriteUnits(
  item: Item,
  tableKeys: readonly string[],
  indexes: readonly IndexDesign[],
): number {
  let units = 0;
  for (const index of indexes) {
    if (!index.keys.every((key) => item[key] !== undefined)) continue; // sparse: not in this index
    const entry: Item = {};
    for (const name of new Set([...index.keys, ...tableKeys, ...index.projected])) {
      const value = item[name];
      if (value !== undefined) entry[name] = value;
    }
    units += writeUnits(itemSize(entry) + 100);
  }
  return units;
}
