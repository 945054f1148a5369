//! Runs the component example (`examples/component`) and checks the round
//! trip: what the guest read through the descriptor `from-bytes` returned is
//! exactly the bytes it held, and `stat` reports their size.

#[path = "../../examples/component/main.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn guest_reads_back_the_bytes_it_held() {
    let report = example::run().expect("the example runs");
    assert_eq!(report.held, b"name,qty\nwidget,3\ngadget,7\n");
    assert_eq!(report.size, report.held.len() as u64);
    assert_eq!(report.read_back, report.held);
}
