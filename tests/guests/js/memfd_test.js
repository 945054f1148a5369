// The JavaScript (componentize-js) test guest for wasi-memfd.
//
// Built against the `command` world of the project's WIT with
// guest/js/wasi-memfd.js; run by tests/runner/js_guest.rs in the wasi-memfd
// runner:
//
//     memfd_test basic
//     memfd_test preopen NAME EXPECTED
//     memfd_test preopen-writable NAME EXPECTED   (uppercases the file in place)
//     memfd_test limits FILES FILE_SIZE TOTAL     (the runner's --max-* flags)
//
// It prints "ok: CHECK" per passed check and "FAIL: CHECK: why" per failed
// one, then "N passed, M failed", and exits 1 if any check failed.

import { getArguments } from 'wasi:cli/environment@0.2.0';
import { exit } from 'wasi:cli/exit@0.2.0';
import { fromBytes as rawFromBytes } from 'wasi-memfd:memfd/memfd@0.1.0';

import {
  fromBytes,
  openPreopened,
  MemFile,
  MemfdError,
  FilesystemError,
  InvalidArgumentError,
  NameTooLongError,
  FileTooLargeError,
  QuotaExceededError,
  TooManyFilesError,
  NotFoundError,
  OutOfMemoryError,
  UnsupportedError,
  errorClasses,
  memfdError,
} from '../../../guest/js/wasi-memfd.js';

let passed = 0;
let failed = 0;

class CheckFailed extends Error {
  get name() {
    return 'CheckFailed';
  }
}

function ensure(cond, why) {
  if (!cond) throw new CheckFailed(why);
}

function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok: ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL: ${name}: ${e?.name ?? 'error'}: ${e?.message ?? e}`);
  }
}

function expectError(fn, cls, code) {
  let result;
  try {
    result = fn();
  } catch (e) {
    ensure(e instanceof cls, `threw ${e?.name}: ${e?.message} (code ${e?.code}), want ${cls.name}`);
    if (code !== undefined) ensure(e.code === code, `code ${e.code}, want ${code}`);
    return e;
  }
  result?.close?.();
  throw new CheckFailed(`no ${cls.name}${code ? ` (${code})` : ''}`);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const TEXT = enc.encode('Hello, memory file! 0123456789abcdefghijklmnopqrstuvwxyz\n'.repeat(100));

function basic() {
  check('raw from-bytes import returns a descriptor', () => {
    const d = rawFromBytes(TEXT, 'raw', { writable: false });
    try {
      const [data] = d.read(BigInt(TEXT.length + 10), 0n);
      // componentize-js's arrays come from another realm: not `instanceof`.
      ensure(Object.prototype.toString.call(data) === '[object Uint8Array]', `read gave ${Object.prototype.toString.call(data)}`);
      ensure(equal(data, TEXT), `read ${data.length} bytes`);
      const [rest, end] = d.read(10n, BigInt(TEXT.length));
      ensure(rest.length === 0 && end, `read at the end: ${rest.length} bytes, end=${end}`);
    } finally {
      d[Symbol.dispose]();
    }
  });

  check('fromBytes: MemFile, contents, readAll, text', () => {
    const f = fromBytes(TEXT, { name: 'contents' });
    ensure(f instanceof MemFile, 'not a MemFile');
    ensure(f.name === 'contents' && !f.writable && f.size === TEXT.length, `name ${f.name} writable ${f.writable} size ${f.size}`);
    const all = f.readAll();
    ensure(all instanceof Uint8Array && equal(all, TEXT), 'readAll() is not a Uint8Array equal to the data');
    ensure([...f.stream()].every((c) => c instanceof Uint8Array), 'stream() chunks are not Uint8Arrays');
    ensure(f.read(3, 1) instanceof Uint8Array, 'read() is not a Uint8Array');
    ensure(f.text() === dec.decode(TEXT), 'text() != data');
    f.close();
    const views = [TEXT.buffer, new DataView(TEXT.buffer), new Uint16Array(TEXT.buffer.slice(0, 100))];
    for (const v of views) {
      const g = fromBytes(v);
      ensure(g.size === v.byteLength, `${Object.prototype.toString.call(v)}: size ${g.size}`);
      g.close();
    }
    const s = fromBytes('héllo');
    ensure(s.size === 6 && s.text() === 'héllo', 'string data');
    s.close();
  });

  check('stat: regular file, true size, read-only flags', () => {
    const f = fromBytes(TEXT, { name: 'stat' });
    const st = f.stat();
    ensure(st.type === 'regular-file', `type ${st.type}`);
    ensure(st.size === BigInt(TEXT.length), `size ${st.size}`);
    ensure(f.descriptor.stat().size === BigInt(TEXT.length), 'descriptor.stat()');
    const flags = f.descriptor.getFlags();
    ensure(flags.read && !flags.write, `flags ${JSON.stringify(flags)}`);
    f.close();
  });

  check('reads at offsets: read(length, offset), across and past the end, BigInt', () => {
    const f = fromBytes(TEXT);
    ensure(equal(f.read(10, 7), TEXT.subarray(7, 17)), 'read(10, 7)');
    ensure(equal(f.read(10n, 7n), TEXT.subarray(7, 17)), 'read(10n, 7n)');
    ensure(equal(f.read(100, TEXT.length - 5), TEXT.subarray(TEXT.length - 5)), 'across the end');
    ensure(f.read(10, TEXT.length + 100).length === 0, 'past the end');
    ensure(f.read(0, 3).length === 0, 'zero length');
    ensure(equal(f.read(5), TEXT.subarray(0, 5)), 'default offset 0');
    expectError(() => f.read(-1, 0), RangeError);
    expectError(() => f.read(1, 0.5), RangeError);
    f.close();
  });

  check('read-via-stream: whole file, from an offset, chunked', () => {
    const f = fromBytes(TEXT);
    const all = [...f.stream()];
    ensure(equal(concat(all), TEXT), 'whole stream');
    ensure(equal(concat([...f.stream(1234, 100)]), TEXT.subarray(1234)), 'from 1234');
    const chunks = [...f.stream(0, 1000)];
    ensure(chunks.every((c) => c.length <= 1000) && equal(concat(chunks), TEXT), '1000-byte chunks');
    ensure([...f.stream(TEXT.length)].length === 0, 'from the end');
    f.close();
  });

  check('JSON.parse over the file text', () => {
    const doc = { name: 'wasi-memfd', n: [1, 2, 3], 'ünï': 'cødé' };
    const f = fromBytes(enc.encode(JSON.stringify(doc)), { name: 'doc.json' });
    ensure(JSON.stringify(JSON.parse(f.text())) === JSON.stringify(doc), 'round trip');
    f.close();
  });

  check('read-only: write throws FilesystemError, the descriptor refuses', () => {
    const f = fromBytes(enc.encode('sealed'));
    expectError(() => f.write(enc.encode('X'), 0), FilesystemError, 'bad-descriptor');
    let refused = false;
    try {
      f.descriptor.write(enc.encode('X'), 0n);
    } catch (e) {
      refused = typeof e.payload === 'string';
    }
    ensure(refused, 'descriptor.write succeeded');
    ensure(f.text() === 'sealed', 'bytes changed');
    f.close();
  });

  check('writable: in-place writes, fixed size (short across the end, file-too-large past it)', () => {
    const f = fromBytes(enc.encode('hello world!'), { name: 'w', writable: true });
    ensure(f.writable && f.descriptor.getFlags().write, 'not writable');
    ensure(f.write(enc.encode('HELLO'), 0) === 5 && f.write('WORLD', 6) === 5, 'write counts');
    ensure(f.text() === 'HELLO WORLD!', `after writes: ${f.text()}`);
    ensure(f.write(enc.encode('!!!!'), 10) === 2, 'write across the end is short');
    expectError(() => f.write(enc.encode('!'), 12), FilesystemError, 'file-too-large');
    let refused = false;
    try {
      f.descriptor.write(enc.encode('!'), 12n);
    } catch (e) {
      refused = typeof e.payload === 'string';
    }
    ensure(refused, 'descriptor.write at the end succeeded');
    ensure(f.stat().size === 12n && f.text() === 'HELLO WORL!!', `size ${f.stat().size} text ${f.text()}`);
    f.close();
  });

  check('large file: 8 MiB round trip, read near the end', () => {
    const data = new Uint8Array(8 << 20);
    for (let i = 0; i < 4099; i++) data[i] = (i * 2654435761) >>> 24;
    for (let n = 4099; n < data.length; n *= 2) data.copyWithin(n, 0, n);
    const f = fromBytes(data, { name: 'large' });
    ensure(f.size === data.length, `size ${f.size}`);
    ensure(equal(f.readAll(), data), 'round trip');
    ensure(equal(f.read(64, data.length - 64), data.subarray(data.length - 64)), 'near the end');
    f.close();
  });

  check('empty data and empty name', () => {
    const f = fromBytes(new Uint8Array(0));
    ensure(f.size === 0 && f.readAll().length === 0 && f.stat().size === 0n && f.name === '', 'empty file');
    f.close();
  });

  check('close drops the descriptor; use after close throws', () => {
    const f = fromBytes(enc.encode('abc'));
    f.close();
    f.close();
    ensure(f.closed, 'not closed');
    expectError(() => f.read(1, 0), FilesystemError, 'bad-descriptor');
    {
      using g = fromBytes(enc.encode('disposable'));
      ensure(g.text() === 'disposable', 'using');
    }
  });

  check('invalid-argument: NUL in name -> InvalidArgumentError', () => {
    const e = expectError(() => fromBytes(enc.encode('x'), { name: 'a\0b' }), InvalidArgumentError, 'invalid-argument');
    ensure(e instanceof MemfdError && e instanceof Error, 'not a MemfdError');
    ensure(e.cause?.payload === 'invalid-argument', 'cause is not the ComponentError');
  });

  check('name-too-long: 250-byte name -> NameTooLongError, 249 accepted', () => {
    const f = fromBytes(enc.encode('x'), { name: 'n'.repeat(249) });
    ensure(f.text() === 'x', '249-byte name');
    f.close();
    expectError(() => fromBytes(enc.encode('x'), { name: 'n'.repeat(250) }), NameTooLongError, 'name-too-long');
    // bytes, not characters: 125 two-byte characters are 250 bytes
    expectError(() => fromBytes(enc.encode('x'), { name: 'é'.repeat(125) }), NameTooLongError);
  });

  check('not-found: openPreopened of a missing name -> NotFoundError', () => {
    expectError(() => openPreopened('no such file'), NotFoundError, 'not-found');
  });

  check('every error-code maps to its error class', () => {
    const want = {
      'invalid-argument': InvalidArgumentError,
      'name-too-long': NameTooLongError,
      'file-too-large': FileTooLargeError,
      'quota-exceeded': QuotaExceededError,
      'too-many-files': TooManyFilesError,
      'not-found': NotFoundError,
      'out-of-memory': OutOfMemoryError,
      'unsupported': UnsupportedError,
    };
    ensure(JSON.stringify(Object.keys(errorClasses).sort()) === JSON.stringify(Object.keys(want).sort()), 'other codes');
    for (const [code, cls] of Object.entries(want)) {
      const thrown = Object.assign(new Error(code), { payload: code });
      const e = memfdError(thrown, 'n');
      ensure(e instanceof cls && e instanceof MemfdError && e.code === code && e.name === cls.name, `${code}: ${e.name} ${e.code}`);
    }
    const other = new TypeError('not a memfd error');
    ensure(memfdError(other) === other, 'other errors pass through');
  });
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function preopen(name, expected) {
  check('openPreopened: contents, stat, independent files', () => {
    const a = openPreopened(name);
    const b = openPreopened(name);
    ensure(a.descriptor !== b.descriptor, 'the same descriptor twice');
    const st = a.stat();
    ensure(st.type === 'regular-file' && a.size === enc.encode(expected).length, `type ${st.type} size ${a.size}`);
    ensure(!a.writable, 'a read-only preopen is writable');
    ensure(a.text() === expected && b.text() === expected, 'contents');
    a.close();
    ensure(b.text() === expected, 'closing one closed the other');
    b.close();
  });
}

function preopenWritable(name, expected) {
  check('openPreopened writable: write in place, seen by the next open', () => {
    const f = openPreopened(name);
    ensure(f.writable, 'not writable');
    ensure(f.text() === expected, 'contents');
    ensure(f.write(expected.toUpperCase(), 0) === enc.encode(expected).length, 'short write');
    f.close();
    const g = openPreopened(name);
    ensure(g.text() === expected.toUpperCase(), 'a second open does not see the write');
    g.close();
  });
}

function limits(files, fileSize, total) {
  check('file-too-large: one byte over --max-file-size -> FileTooLargeError', () => {
    fromBytes(new Uint8Array(fileSize), { name: 'at-limit' }).close();
    expectError(() => fromBytes(new Uint8Array(fileSize + 1), { name: 'over' }), FileTooLargeError, 'file-too-large');
  });

  check('quota-exceeded: one byte over --max-total-size -> QuotaExceededError; close gives bytes back', () => {
    const held = [];
    try {
      for (let left = total; left > 0; ) {
        const n = Math.min(left, fileSize);
        held.push(fromBytes(new Uint8Array(n), { name: 'quota' }));
        left -= n;
      }
      expectError(() => fromBytes(enc.encode('1'), { name: 'over-quota' }), QuotaExceededError, 'quota-exceeded');
      held.shift().close();
      held.push(fromBytes(enc.encode('1'), { name: 'after-close' }));
    } finally {
      held.forEach((f) => f.close());
    }
  });

  check('too-many-files: one file over --max-files -> TooManyFilesError; close frees the slot', () => {
    const held = [];
    try {
      for (let i = 0; i < files; i++) held.push(fromBytes(new Uint8Array([i]), { name: 'slot' }));
      expectError(() => fromBytes(enc.encode('x'), { name: 'one-too-many', writable: true }), TooManyFilesError, 'too-many-files');
      held.shift().close();
      held.push(fromBytes(enc.encode('x'), { name: 'after-close' }));
    } finally {
      held.forEach((f) => f.close());
    }
  });
}

function usage() {
  console.log('usage: memfd_test basic | preopen NAME EXPECTED | preopen-writable NAME EXPECTED | limits FILES FILE_SIZE TOTAL');
  exit({ tag: 'err' });
}

function positive(s) {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) usage();
  return n;
}

export const run = {
  run() {
    const args = getArguments().slice(1);
    if (args.length === 1 && args[0] === 'basic') basic();
    else if (args.length === 3 && args[0] === 'preopen') preopen(args[1], args[2]);
    else if (args.length === 3 && args[0] === 'preopen-writable') preopenWritable(args[1], args[2]);
    else if (args.length === 4 && args[0] === 'limits') limits(positive(args[1]), positive(args[2]), positive(args[3]));
    else usage();
    console.log(`${passed} passed, ${failed} failed`);
    if (failed > 0) exit({ tag: 'err' });
  },
};
