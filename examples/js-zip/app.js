// js-zip: a zip archive listed through a wasi-memfd file, in a
// componentize-js guest.
//
//     js-zip ARCHIVE.zip        read the bytes (through a --dir preopen),
//                               then fromBytes
//     js-zip -preopen NAME      the archive the host attached with
//                               --preopen NAME=PATH
//
// The archive is never held whole by the lister: it reads the end-of-central-
// directory record, the central directory and each entry's data at their
// offsets with file.read(length, offset). It prints what examples/zip-lister
// (Go) prints: CRC-32, SHA-256 of the content, size, name; then a summary.
// Deflated entries are inflated with DecompressionStream('deflate-raw').

import { getArguments } from 'wasi:cli/environment@0.2.0';
import { exit } from 'wasi:cli/exit@0.2.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.0';

import { fromBytes, openPreopened } from '../../guest/js/wasi-memfd.js';

const u16 = (b, at) => b[at] | (b[at + 1] << 8);
const u32 = (b, at) => (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;

// The central directory: [{ name, method, crc, compressedSize, size, localOffset }].
function centralDirectory(file) {
  const tailLength = Math.min(file.size, 22 + 0xffff);
  const tail = file.read(tailLength, file.size - tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory record)');
  const count = u16(tail, eocd + 10);
  const dirSize = u32(tail, eocd + 12);
  const dirOffset = u32(tail, eocd + 16);
  const dir = file.read(dirSize, dirOffset);
  const entries = [];
  for (let at = 0, i = 0; i < count; i++) {
    if (u32(dir, at) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const nameLength = u16(dir, at + 28);
    const extraLength = u16(dir, at + 30);
    const commentLength = u16(dir, at + 32);
    entries.push({
      method: u16(dir, at + 10),
      crc: u32(dir, at + 16),
      compressedSize: u32(dir, at + 20),
      size: u32(dir, at + 24),
      localOffset: u32(dir, at + 42),
      name: new TextDecoder().decode(dir.subarray(at + 46, at + 46 + nameLength)),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

async function content(file, e) {
  const local = file.read(30, e.localOffset);
  if (u32(local, 0) !== 0x04034b50) throw new Error(`${e.name}: bad local header`);
  const start = e.localOffset + 30 + u16(local, 26) + u16(local, 28);
  const raw = file.read(e.compressedSize, start);
  if (e.method === 0) return raw;
  if (e.method !== 8) throw new Error(`${e.name}: compression method ${e.method} not supported`);
  const inflated = new Blob([raw]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

async function list(file) {
  let files = 0;
  let total = 0;
  for (const e of centralDirectory(file)) {
    if (e.name.endsWith('/')) continue;
    const data = await content(file, e);
    const crc = crc32(data);
    if (crc !== e.crc || data.length !== e.size) {
      throw new Error(`${e.name}: CRC-32 ${crc.toString(16)} size ${data.length}, archive says ${e.crc.toString(16)} ${e.size}`);
    }
    const sha = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    console.log(`${crc.toString(16).padStart(8, '0')}  ${hex(sha)}  ${data.length}  ${e.name}`);
    files++;
    total += data.length;
  }
  console.log(`${files} files, ${total} bytes uncompressed, ${file.size} bytes compressed archive`);
}

// The bytes of a file under one of the guest's --dir preopens.
function readHostFile(path) {
  for (const [dir, guestPath] of getDirectories()) {
    const prefix = guestPath.endsWith('/') ? guestPath : `${guestPath}/`;
    if (!path.startsWith(prefix)) continue;
    const f = dir.openAt({ symlinkFollow: true }, path.slice(prefix.length), {}, { read: true });
    try {
      const size = f.stat().size;
      const chunks = [];
      let got = 0n;
      while (got < size) {
        const [data, end] = f.read(size - got, got);
        chunks.push(new Uint8Array(data));
        got += BigInt(data.length);
        if (end || data.length === 0) break;
      }
      const out = new Uint8Array(Number(got));
      chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
      return out;
    } finally {
      f[Symbol.dispose]();
    }
  }
  throw new Error(`${path}: not under a --dir preopen`);
}

function openArchive(args) {
  if (args.length === 2 && args[0] === '-preopen') return openPreopened(args[1]);
  if (args.length === 1 && !args[0].startsWith('-')) {
    // The bytes the guest holds become a file: one copy, into host memory.
    return fromBytes(readHostFile(args[0]), { name: args[0].split('/').pop() });
  }
  console.error('usage: js-zip ARCHIVE.zip | js-zip -preopen NAME');
  exit({ tag: 'err' });
}

export const run = {
  async run() {
    try {
      const file = openArchive(getArguments().slice(1));
      try {
        await list(file);
      } finally {
        file.close();
      }
    } catch (e) {
      console.error(`js-zip: ${e.message ?? e}${e.code ? ` (${e.code})` : ''}`);
      exit({ tag: 'err' });
    }
  },
};
