//! rust-file: bytes in a `Vec<u8>` handed to code that reads a file.
//!
//! `summarize` and `tail` are ordinary generic code over `Read` / `Read +
//! Seek`, the way code that reads files is written; here they get a
//! `wasi_memfd_guest::MemFile` made from the bytes (or opened on a file the
//! host attached). The same source builds for wasm32-wasip1 and
//! wasm32-wasip2: it uses only the API both share.
//!
//!     rust-file PATH             read PATH (through --dir) into memory, then from_bytes
//!     rust-file -preopen NAME    open_preopened(NAME) (wasi-memfd run --preopen NAME=PATH)
//!
//! Prints line, word and byte counts, the longest line, and the last three
//! lines. Build and run it with `bash examples/run.sh rust-file`. Keep to Rust 1.63
//! (Debian's, where rustup cannot add the wasm32-wasip1 target).

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::process::exit;

use wasi_memfd_guest::MemFile;

/// Line, word and byte counts and the longest line, read through a
/// `BufReader` line by line.
fn summarize<R: Read>(file: R) -> io::Result<()> {
    let (mut lines, mut words, mut bytes) = (0u64, 0u64, 0u64);
    let (mut longest, mut longest_len) = (0u64, 0usize);
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += 1;
        words += line.split_whitespace().count() as u64;
        let len = line.trim_end_matches('\n').len();
        if len > longest_len {
            longest = lines;
            longest_len = len;
        }
    }
    println!("{} lines, {} words, {} bytes", lines, words, bytes);
    println!("longest line: {} ({} bytes)", longest, longest_len);
    Ok(())
}

/// The last `n` lines: seeks back from the end in 16-byte steps until it
/// has seen `n` line starts, then reads forward from there.
fn tail<F: Read + Seek>(file: &mut F, n: usize) -> io::Result<()> {
    let size = file.seek(SeekFrom::End(0))?;
    // A final newline ends the last line; it does not start another.
    let mut end = size;
    if end > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(end - 1))?;
        file.read_exact(&mut last)?;
        if last[0] == b'\n' {
            end -= 1;
        }
    }
    let mut start = 0;
    let mut seen = 0;
    let mut pos = end;
    'search: while pos > 0 {
        let step = pos.min(16);
        pos -= step;
        let mut chunk = vec![0u8; step as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        for i in (0..chunk.len()).rev() {
            if chunk[i] == b'\n' {
                seen += 1;
                if seen == n {
                    start = pos + i as u64 + 1;
                    break 'search;
                }
            }
        }
    }
    file.seek(SeekFrom::Start(start))?;
    let mut rest = String::new();
    file.take(end - start).read_to_string(&mut rest)?;
    println!("last {} lines:", n);
    for line in rest.lines() {
        println!("  {}", line);
    }
    Ok(())
}

fn open(args: &[String]) -> Result<MemFile, String> {
    match args {
        [flag, name] if flag.as_str() == "-preopen" => wasi_memfd_guest::open_preopened(name)
            .map_err(|e| format!("open_preopened({:?}): {}", name, e)),
        [path] => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {}", path, e))?;
            wasi_memfd_guest::from_bytes(&bytes, path)
                .map_err(|e| format!("from_bytes({:?}): {}", path, e))
        }
        _ => {
            eprintln!("usage: rust-file PATH | rust-file -preopen NAME");
            exit(2)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = match open(&args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rust-file: {}", e);
            exit(1)
        }
    };
    let result = summarize(&mut file)
        .and_then(|()| file.rewind())
        .and_then(|()| tail(&mut file, 3));
    if let Err(e) = result {
        eprintln!("rust-file: {}", e);
        exit(1);
    }
}
