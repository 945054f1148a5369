//! Runs the host embedding example (`examples/embed`) and checks the round
//! trip: the guest's upper-cased copy of `input` lands in the writable
//! preopened `output`, whose size did not change.

#[path = "../../examples/embed/main.rs"]
#[allow(dead_code)]
mod embed;

#[test]
fn guest_output_is_read_back_by_the_host() {
    let output = embed::run().expect("the example runs");
    let text = b"HELLO FROM THE HOST";
    assert_eq!(output.len(), 64, "a writable preopened file keeps its size");
    assert_eq!(&output[..text.len()], text);
    assert!(output[text.len()..].iter().all(|&b| b == b'.'));
}
