// Types for the parts of the vendored Yjs bundle (yjs.mjs) the client uses, so that the client's
// type check reads these rather than the bundle itself.
export interface YText {
  readonly length: number;
  toString(): string;
  insert(index: number, text: string): void;
  delete(index: number, length: number): void;
  observe(f: (event: unknown) => void): void;
}
export class Doc {
  constructor();
  getText(name: string): YText;
  on(event: 'update', f: (update: Uint8Array, origin: unknown) => void): void;
  transact(f: () => void, origin?: unknown): void;
}
export function applyUpdate(doc: Doc, update: Uint8Array, origin?: unknown): void;
export function encodeStateAsUpdate(doc: Doc, stateVector?: Uint8Array): Uint8Array;
export function encodeStateVectorFromUpdate(update: Uint8Array): Uint8Array;
