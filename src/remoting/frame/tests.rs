use std::time::Duration;

use tokio::io::{duplex, AsyncWriteExt, DuplexStream};

use super::*;

fn frame(header_len: usize, total_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + total_len);
    out.extend_from_slice(&(total_len as u32).to_be_bytes());
    out.extend_from_slice(&(header_len as u32).to_be_bytes());
    out.resize(4 + total_len, b'x');
    out
}

fn reader(budget: &FrameBudget) -> (FrameReader<DuplexStream>, DuplexStream) {
    let (client, server) = duplex(1 << 20);
    (FrameReader::new(server, budget.clone()), client)
}

#[tokio::test]
async fn frames_arriving_in_pieces_are_reassembled() {
    let budget = FrameBudget::default();
    let (mut frames, mut client) = reader(&budget);
    let small = frame(10, 100);
    let large = frame(10, SMALL_FRAME_BYTES + 1000);
    let mut stream = small.clone();
    stream.extend_from_slice(&large);
    let writer = tokio::spawn(async move {
        for piece in stream.chunks(3001) {
            client.write_all(piece).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let first = frames.next_frame().await.unwrap().unwrap();
    assert_eq!(&first[..], &small[4..]);
    let second = frames.next_frame().await.unwrap().unwrap();
    assert_eq!(&second[..], &large[4..]);
    writer.await.unwrap();
    assert!(frames.next_frame().await.unwrap().is_none(), "clean end");
}

#[tokio::test]
async fn bad_lengths_and_long_headers_are_refused_before_the_rest_arrives() {
    let budget = FrameBudget::default();
    for (prefix, expect_header) in [
        (vec![0, 0, 0, 0], false),
        (vec![0, 0, 0, 3], false),
        (
            ((MAX_FRAME_LENGTH - 3) as u32).to_be_bytes().to_vec(),
            false,
        ),
        (u32::MAX.to_be_bytes().to_vec(), false),
        (frame(MAX_HEADER_BYTES + 1, 8 << 20)[..8].to_vec(), true),
    ] {
        let (mut frames, mut client) = reader(&budget);
        // Only the prefix is sent: the refusal must not wait for the frame's bytes.
        client.write_all(&prefix).await.unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(5), frames.next_frame())
            .await
            .expect("refused without waiting");
        match outcome {
            Err(FrameError::HeaderTooLong(n)) if expect_header => {
                assert_eq!(n, MAX_HEADER_BYTES + 1)
            }
            Err(FrameError::BadLength(_)) if !expect_header => {}
            other => panic!("{prefix:?}: {other:?}"),
        }
    }
    // A header at the limit is fine.
    let (mut frames, mut client) = reader(&budget);
    let ok = frame(MAX_HEADER_BYTES, MAX_HEADER_BYTES + 4);
    let writer = tokio::spawn(async move { client.write_all(&ok).await.unwrap() });
    assert!(frames.next_frame().await.unwrap().is_some());
    writer.await.unwrap();
}

#[tokio::test]
async fn a_peer_closing_inside_a_frame_is_an_unexpected_eof() {
    let budget = FrameBudget::default();
    for cut in [2, 6, 50, SMALL_FRAME_BYTES + 50] {
        let (mut frames, mut client) = reader(&budget);
        let whole = frame(10, SMALL_FRAME_BYTES + 100);
        client.write_all(&whole[..cut]).await.unwrap();
        drop(client);
        match frames.next_frame().await {
            Err(FrameError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    assert_eq!(
        budget.available_bytes(),
        budget.total_bytes(),
        "nothing held"
    );
}

#[tokio::test]
async fn large_frames_wait_for_the_budget_and_return_it_when_dropped() {
    // The smallest budget there is: one maximal frame.
    let budget = FrameBudget::new(0);
    assert_eq!(budget.total_bytes(), MAX_FRAME_LENGTH);
    let len = 10 << 20;
    let (mut first_reader, mut first_client) = reader(&budget);
    let (mut second_reader, mut second_client) = reader(&budget);
    let bytes = frame(10, len);
    let (a, b) = (bytes.clone(), bytes.clone());
    tokio::spawn(async move { first_client.write_all(&a).await });
    tokio::spawn(async move { second_client.write_all(&b).await });
    let first = first_reader.next_frame().await.unwrap().unwrap();
    assert_eq!(budget.available_bytes(), MAX_FRAME_LENGTH - len);
    let body = first.slice(100..);
    drop(first);
    // 10 MiB + 10 MiB exceed the budget: the second reader waits while any part of the first is alive.
    let second = tokio::spawn(async move { second_reader.next_frame().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!second.is_finished(), "the second frame did not wait");
    drop(body);
    let second = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the freed budget lets the second frame in")
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&second[..], &bytes[4..]);
    assert_eq!(budget.available_bytes(), MAX_FRAME_LENGTH - len);
    drop(second);
    assert_eq!(budget.available_bytes(), MAX_FRAME_LENGTH);
}

#[test]
fn the_process_budget_is_fixed_once() {
    // Whichever came first (this call or a server test's first connection) fixed it.
    init_process_budget(1 << 30);
    let fixed = process_budget().total_bytes();
    assert!(
        !init_process_budget(64 << 20),
        "a second setting is refused"
    );
    assert_eq!(process_budget().total_bytes(), fixed);
}
