//! Runs `examples/native-checksum`: the host sums a guest's memory file in
//! place through its fd (an mmap of the sealed file), and the guest sums a
//! file the host made for it; both sums match the bytes.

#[path = "../../examples/native-checksum/main.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn native_code_reads_the_guest_file_through_its_fd() {
    let (own, greeting) = example::run().expect("the example runs");
    let pattern: Vec<u8> = (0..example::LEN).map(|i| (i * 7) as u8).collect();
    assert_eq!(own, example::fnv1a(&pattern));
    assert_eq!(greeting, example::fnv1a(example::GREETING));
    assert_ne!(own, u64::MAX, "the host did not recognise the guest's fd");
}
