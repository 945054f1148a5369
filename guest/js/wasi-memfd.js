// wasi-memfd for JavaScript components built with componentize-js.
//
// Turns a Uint8Array into a host memory file and hands back a reader over
// its `wasi:filesystem` descriptor:
//
//     import { fromBytes } from './wasi-memfd.js';
//
//     const file = fromBytes(bytes, { name: 'archive.zip' });
//     const tail = file.read(22, file.size - 22);   // random access
//     const all = file.readAll();
//     file.close();
//
// Build the guest against the `command` world of the project's WIT (see
// guest/js/README.md):
//
//     componentize({ sourcePath, witPath: 'wit', worldName: 'command',
//                    disableFeatures: ['http', 'fetch-event'] })
//
// Errors are `MemfdError` subclasses whose `code` is the WIT `error-code`
// name ('name-too-long', ...) and `FilesystemError` for `wasi:filesystem`
// errors of reads and writes (`code` 'bad-descriptor', 'not-permitted', ...).
// The error componentize-js threw is kept as `cause`.

import {
  fromBytes as sysFromBytes,
  openPreopened as sysOpenPreopened,
} from 'wasi-memfd:memfd/memfd@0.1.0';

/** A wasi-memfd call failed; `code` is the WIT `error-code` name. */
export class MemfdError extends Error {
  constructor(code, message, options) {
    super(message ?? code, options);
    this.name = 'MemfdError';
    this.code = code;
  }
}

function memfdErrorClass(className, code, text) {
  const cls = class extends MemfdError {
    constructor(message, options) {
      super(code, message ?? text, options);
      this.name = className;
    }
  };
  Object.defineProperty(cls, 'name', { value: className });
  return cls;
}

/** `invalid-argument`: a NUL byte in the name. */
export const InvalidArgumentError = memfdErrorClass('InvalidArgumentError', 'invalid-argument', 'invalid argument (a NUL byte in the name)');
/** `name-too-long`: the name is longer than 249 bytes. */
export const NameTooLongError = memfdErrorClass('NameTooLongError', 'name-too-long', 'name longer than 249 bytes');
/** `file-too-large`: more bytes than the host's per-file limit. */
export const FileTooLargeError = memfdErrorClass('FileTooLargeError', 'file-too-large', "more bytes than the host's per-file limit");
/** `quota-exceeded`: the guest's memory files would hold too many bytes. */
export const QuotaExceededError = memfdErrorClass('QuotaExceededError', 'quota-exceeded', "over the host's byte quota for memory files");
/** `too-many-files`: the guest would hold too many memory files open. */
export const TooManyFilesError = memfdErrorClass('TooManyFilesError', 'too-many-files', 'too many memory files open');
/** `not-found`: `openPreopened` of a name the host did not attach. */
export const NotFoundError = memfdErrorClass('NotFoundError', 'not-found', 'no preopened file of that name');
/** `out-of-memory`: the system refused to make the file. */
export const OutOfMemoryError = memfdErrorClass('OutOfMemoryError', 'out-of-memory', 'the host could not make a memory file');
/** `unsupported`: this host cannot make memory files (of this kind). */
export const UnsupportedError = memfdErrorClass('UnsupportedError', 'unsupported', 'unsupported by this host');

const ERRORS = {
  'invalid-argument': InvalidArgumentError,
  'name-too-long': NameTooLongError,
  'file-too-large': FileTooLargeError,
  'quota-exceeded': QuotaExceededError,
  'too-many-files': TooManyFilesError,
  'not-found': NotFoundError,
  'out-of-memory': OutOfMemoryError,
  'unsupported': UnsupportedError,
};

/** The error class for each WIT `error-code` name. */
export const errorClasses = Object.freeze({ ...ERRORS });

/** A `wasi:filesystem` call on the descriptor failed; `code` is its
 *  `wasi:filesystem/types.error-code` name ('bad-descriptor', ...). */
export class FilesystemError extends Error {
  constructor(code, message, options) {
    super(message ?? code, options);
    this.name = 'FilesystemError';
    this.code = code;
  }
}

// componentize-js throws a `result` import's error as an Error with the
// WIT value in `payload` (an enum case is its name as a string).
function payloadOf(e) {
  return e !== null && typeof e === 'object' && 'payload' in e ? e.payload : undefined;
}

/** The MemfdError for what a memfd import threw; rethrows anything else. */
export function memfdError(e, name) {
  const code = payloadOf(e);
  const cls = typeof code === 'string' ? ERRORS[code] : undefined;
  if (!cls) return e;
  const err = new cls(undefined, { cause: e });
  err.message = name === undefined ? err.message : `${err.message}: ${JSON.stringify(name)}`;
  return err;
}

function filesystemError(e, what) {
  const code = payloadOf(e);
  if (typeof code !== 'string') return e;
  return new FilesystemError(code, `${what}: ${code}`, { cause: e });
}

function toBigInt(n, what) {
  if (typeof n === 'bigint') return n;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  }
  return BigInt(n);
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  throw new TypeError('fromBytes takes a Uint8Array, another typed array or DataView, an ArrayBuffer or a string');
}

/**
 * A memory file: its `wasi:filesystem` descriptor, its (fixed) size, and
 * positional reads and writes. Reads never move anything: `read(length,
 * offset)` is `pread`.
 */
export class MemFile {
  #descriptor;
  #size;

  constructor(descriptor, { name = '', writable = false } = {}) {
    this.#descriptor = descriptor;
    /** The label given to `fromBytes` / the name given to `openPreopened`. */
    this.name = name;
    /** Whether the bytes can be overwritten in place. */
    this.writable = writable;
    let st;
    try {
      st = descriptor.stat();
    } catch (e) {
      this.close();
      throw filesystemError(e, 'stat');
    }
    this.#size = Number(st.size);
  }

  /** The `wasi:filesystem` descriptor, for any other call on it. */
  get descriptor() {
    if (this.#descriptor === undefined) throw new FilesystemError('bad-descriptor', 'the file is closed');
    return this.#descriptor;
  }

  /** The size in bytes; a memory file's size never changes. */
  get size() {
    return this.#size;
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#descriptor === undefined;
  }

  /** `descriptor.stat()`: `{ type, linkCount, size, ... }` (sizes are BigInt). */
  stat() {
    try {
      return this.descriptor.stat();
    } catch (e) {
      throw filesystemError(e, 'stat');
    }
  }

  /**
   * Up to `length` bytes from `offset` (numbers or BigInts): fewer only at
   * the end of the file. A new Uint8Array each call.
   */
  read(length, offset = 0) {
    const want = toBigInt(length, 'length');
    let at = toBigInt(offset, 'offset');
    const d = this.descriptor;
    const chunks = [];
    let got = 0n;
    while (got < want) {
      let data, end;
      try {
        [data, end] = d.read(want - got, at);
      } catch (e) {
        throw filesystemError(e, 'read');
      }
      if (data.length > 0) {
        chunks.push(data);
        got += BigInt(data.length);
        at += BigInt(data.length);
      }
      if (end || data.length === 0) break;
    }
    return concat(chunks, Number(got));
  }

  /** The whole file. */
  readAll() {
    return this.read(this.#size, 0);
  }

  /** The whole file decoded as text (UTF-8 unless told otherwise). */
  text(encoding = 'utf-8') {
    return new TextDecoder(encoding).decode(this.readAll());
  }

  /**
   * Yields the bytes from `offset` to the end, at most `chunkSize` at a
   * time, through `read-via-stream` (a `wasi:io` input stream, dropped when
   * the iteration ends).
   */
  *stream(offset = 0, chunkSize = 65536) {
    let s;
    try {
      s = this.descriptor.readViaStream(toBigInt(offset, 'offset'));
    } catch (e) {
      throw filesystemError(e, 'read-via-stream');
    }
    try {
      const n = toBigInt(chunkSize, 'chunkSize');
      for (;;) {
        let data;
        try {
          data = s.blockingRead(n);
        } catch (e) {
          if (payloadOf(e)?.tag === 'closed') return;
          throw new FilesystemError('io', `stream read: ${JSON.stringify(payloadOf(e))}`, { cause: e });
        }
        if (data.length > 0) yield local(data);
      }
    } finally {
      s[Symbol.dispose]?.();
    }
  }

  /**
   * Overwrites bytes in place at `offset`; returns how many were written.
   * The size is fixed: a write that crosses the end is short and one at or
   * past the end throws `FilesystemError` 'file-too-large' (as the host's
   * core-module fds and the Go, C, Rust and Python bindings do). A file not
   * opened writable throws 'bad-descriptor' without asking the host.
   */
  write(bytes, offset = 0) {
    const d = this.descriptor;
    if (!this.writable) throw new FilesystemError('bad-descriptor', 'write: the file is not writable');
    const data = toBytes(bytes);
    const at = Number(toBigInt(offset, 'offset'));
    if (data.length === 0) return 0;
    if (at >= this.#size) throw new FilesystemError('file-too-large', 'write: at or past the end of a fixed-size file');
    const part = data.subarray(0, Math.min(data.length, this.#size - at));
    let done = 0;
    while (done < part.length) {
      try {
        done += Number(d.write(part.subarray(done), BigInt(at + done)));
      } catch (e) {
        throw filesystemError(e, 'write');
      }
    }
    return done;
  }

  /** Drops the descriptor (the host frees the file when its last handle goes). */
  close() {
    const d = this.#descriptor;
    this.#descriptor = undefined;
    d?.[Symbol.dispose]?.();
  }

  [Symbol.dispose]() {
    this.close();
  }
}

// The Uint8Arrays componentize-js hands back belong to another realm of
// the engine (`instanceof Uint8Array` is false for them); a view of the
// same buffer from this realm behaves as any Uint8Array, with no copy.
function local(data) {
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function concat(chunks, total) {
  if (chunks.length === 1 && chunks[0].length === total) return local(chunks[0]);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Copies `bytes` (a Uint8Array, another typed array or DataView, an
 * ArrayBuffer, or a string, UTF-8 encoded) into a new host memory file and
 * returns a `MemFile` over it. `name` labels the file (at most 249 bytes,
 * no NUL); `writable` lets the guest overwrite bytes in place (the size
 * never changes).
 */
export function fromBytes(bytes, { name = '', writable = false } = {}) {
  let d;
  try {
    d = sysFromBytes(toBytes(bytes), name, { writable: Boolean(writable) });
  } catch (e) {
    throw memfdError(e, name);
  }
  return new MemFile(d, { name, writable: Boolean(writable) });
}

/**
 * Opens the file the host attached under `name` (`wasi-memfd run --preopen
 * NAME=PATH`); writable when the host attached it writable. `NotFoundError`
 * when there is none.
 */
export function openPreopened(name) {
  let d;
  try {
    d = sysOpenPreopened(name);
  } catch (e) {
    throw memfdError(e, name);
  }
  let flags;
  try {
    flags = d.getFlags();
  } catch (e) {
    d[Symbol.dispose]?.();
    throw filesystemError(e, 'get-flags');
  }
  return new MemFile(d, { name, writable: Boolean(flags.write) });
}
